"""Learners re-run cells: the notebooks must survive it, in one kernel, as in a workshop.

* "Run All" twice in the same kernel, for each of the four notebooks;
* notebook 02, then notebook 03, in the same kernel;
* interrupting training ("Interrupt Kernel", Ctrl+C in a console) leaves a usable agent, and
  the rest of notebook 03 runs;
* running 03's headline cell again prints the same headline (the training time must not grow).

Starting a kernel and training are the slow parts, so the tests share one kernel with
test_notebook_options (``notebook_kernel`` in conftest.py: one per pytest-xdist worker that runs
any of them), as a learner's day goes from notebook to notebook in one; a notebook's first run
from a fresh kernel is what ``make notebooks`` (nbval) checks. Notebook
03 runs twice after 02: its first pass is "03 after 02", its second the re-run, and the headline
cell is run once more at the end.

The kernel is a real Jupyter kernel (tests/jupyter_kernel.py) with ``CARTPOLE_DQN_SMOKE=1``, the
working directory ``notebooks/``, ``TMPDIR`` in a pytest temporary folder (smoke runs save their
weights into temporary folders, which pytest then removes) and a copy of the shipped agent as its
weights folder. Every wait has a timeout, so a hanging kernel fails the test instead of blocking CI.
"""

from __future__ import annotations

import re
import time

import nbformat
import pytest
from jupyter_kernel import NOTEBOOKS, CellRun, Kernel, code_cells, index_of

CHECK_OUTPUT = "nbval-check-output"  # the cell tag nbval compares outputs of


def tagged_sources(name: str, tag: str) -> set[str]:
    """The sources of the code cells that carry ``tag`` in their metadata."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    return {c.source for c in notebook.cells if c.cell_type == "code" and tag in c.metadata.get("tags", [])}


@pytest.fixture
def kernel(notebook_kernel):
    """The kernel the notebook tests share (conftest.py)."""
    return notebook_kernel


# --- 1. "Run All" twice in one kernel -----------------------------------------------------------


def same_output(first: list[CellRun], second: list[CellRun], needle: str, tagged: set[str] | None = None) -> None:
    """The cells containing ``needle`` (or, with ``tagged``, those sources) printed the same in both passes."""
    cells = [i for i, run in enumerate(first) if (run.source in tagged if tagged is not None else needle in run.source)]
    assert cells, f"no code cell contains {needle!r}"
    for i in cells:
        assert second[i].text == first[i].text, f"second pass printed something else\n{first[i].source}"


def check_01(first: list[CellRun], second: list[CellRun]) -> None:
    same_output(first, second, CHECK_OUTPUT, tagged_sources("01_random_baseline.ipynb", CHECK_OUTPUT))
    same_output(first, second, "play_random_episode(env, seed=SEED + episode)")  # the seeded random scores


def check_02(first: list[CellRun], second: list[CellRun]) -> None:
    same_output(
        first, second, CHECK_OUTPUT, tagged_sources("02_the_model.ipynb", CHECK_OUTPUT)
    )  # incl. model.summary()
    same_output(first, second, "model.predict(batch")  # the untrained network's Q-values
    same_output(first, second, "packaged.predict(batch")  # the package's network: the same Q-values


SECONDS = re.compile(r" *\d+(?:\.\d+)? s\b")  # with its padding: "   9.8 s" and "  10.2 s" are alike


def check_03(first: list[CellRun], second: list[CellRun]) -> None:
    same_output(first, second, "cd.env_sizes(env)")
    same_output(first, second, "count_params()")
    sources = [r.source for r in second]
    # Training from a seed is reproducible (compat orders keras-rl2's soft target updates), so the
    # second pass trains the same agent: its log differs only in the seconds it took.
    fit = index_of(sources, "history = dqn.fit(")
    assert SECONDS.sub(" _ s", second[fit].stdout) == SECONDS.sub(" _ s", first[fit].stdout)
    assert "same scores as dqn.test: True" in second[index_of(sources, "cd.evaluate(")].text
    assert second[index_of(sources, "monitor.seconds")].text.startswith("Trained ")


def check_04(first: list[CellRun], second: list[CellRun]) -> None:
    sources = [r.source for r in second]
    assert "Q-values identical: True" in second[index_of(sources, "q_after = ")].text
    assert "agrees with the Keras model on all 50 states: True" in second[index_of(sources, "controller_actions")].text
    same_output(first, second, "q_after = ")  # the same test scores after the reload in both passes


def check_09(first: list[CellRun], second: list[CellRun]) -> None:
    sources = [r.source for r in second]
    assert "same weights: True" in second[index_of(sources, "cd.load_weights(unnamed, saved)")].text
    failed_loads = second[index_of(sources, "for what, (target, path) in attempts.items()")].text
    for error in ("WeightsNotFoundError", "WeightsMismatchError: ", "WeightsCorruptError"):
        assert error in failed_loads
    assert "the 1st Dense layer (named 'dense_1' in this model)" in failed_loads
    assert "every model unchanged after its failed load: True" in failed_loads


RUN_ALL_TWICE = {
    "01_random_baseline.ipynb": check_01,
    "02_the_model.ipynb": check_02,
    "04_save_and_reload.ipynb": check_04,
    "09_appendix_files_and_errors.ipynb": check_09,
}


@pytest.mark.parametrize("name", list(RUN_ALL_TWICE))
def test_run_all_twice_in_one_kernel(kernel, name):
    sources = code_cells(name)
    first = kernel.run_all(sources, f"{name}, first Run All")
    second = kernel.run_all(sources, f"{name}, second Run All in the same kernel")
    RUN_ALL_TWICE[name](first, second)


# --- 2. notebook 02, then notebook 03 twice, in one kernel ----------------------------------------


def test_notebook_03_after_02_then_run_all_again(kernel):
    """Notebook 03 in a kernel that ran 02 (as a learner goes on), then Run All again, then its headline."""
    kernel.run_all(code_cells("02_the_model.ipynb"), "02_the_model.ipynb, before 03")
    sources = code_cells("03_training.ipynb")
    first = kernel.run_all(sources, "03_training.ipynb after 02 in the same kernel")
    assert "states: 4 | actions: 2" in first[index_of(sources, "cd.env_sizes(env)")].text
    assert "770 parameters" in first[index_of(sources, "count_params()")].text
    assert "same scores as dqn.test: True" in first[index_of(sources, "cd.evaluate(")].text
    assert first[index_of(sources, "monitor.seconds")].text.startswith("Trained ")
    second = kernel.run_all(sources, "03_training.ipynb, second Run All in the same kernel")
    check_03(first, second)
    check_headline_run_again(kernel, sources, second)


# --- 3. interrupting training ------------------------------------------------------------------------

#: notebook 03's fit cell with a budget that cannot finish in the test, and no early stop
LONG_FIT = """\
monitor = cd.SolveMonitor(eval_every=100, eval_episodes=10, stop_when_solved=False, threshold=float("inf"))
history = dqn.fit(env, nb_steps=50_000, visualize=False, verbose=0, callbacks=[monitor])
"""
PROGRESS = re.compile(r"^\[[#-]+\] step +([\d,]+) \|", re.MULTILINE)


def steps_reported(run: CellRun) -> int:
    """The step count of the monitor's latest progress line."""
    return max((int(s.replace(",", "")) for s in PROGRESS.findall(run.stdout)), default=0)


def test_interrupted_training_leaves_a_usable_agent(kernel):
    sources = code_cells("03_training.ipynb")
    fit = index_of(sources, "history = dqn.fit(")
    kernel.run_all(sources[:fit], "03_training.ipynb before training")
    warmup = int(kernel.run_ok("print(dqn.nb_steps_warmup)", "the agent's warm-up").stdout)
    under_way = warmup + 200  # the network has been trained for a while

    msg_id, run = kernel.submit(LONG_FIT)
    kernel.wait(msg_id, run, until=lambda run: steps_reported(run) >= under_way)
    time.sleep(0.5)  # let the interrupt land among training steps, not at an evaluation
    assert run.status == "running", f"training ended before the interrupt\n{run.describe()}"
    kernel.manager.interrupt_kernel()
    kernel.wait(msg_id, run)
    assert run.status == "ok", f"fit did not end cleanly on the interrupt\n{run.describe()}"
    assert "Interrupted after" in run.stdout, run.stdout

    state = kernel.run_ok(
        "print(monitor.interrupted, monitor.steps, len(history.history['episode_reward']))", "after the interrupt"
    )
    interrupted, steps, episodes = state.stdout.split()
    assert interrupted == "True"
    assert under_way <= int(steps) < 50_000
    assert int(episodes) > 0

    # the rest of the notebook: reward plot, test, fast evaluator, animation, save, headline
    after = sources[fit + 1 :]
    rest = kernel.run_all(after, "03_training.ipynb after the interrupted fit")
    tested = kernel.run_ok("print(len(scores.history['episode_reward']), TEST_EPISODES)", "the test's rewards")
    episodes, expected = tested.stdout.split()
    assert episodes == expected
    assert "same scores as dqn.test: True" in rest[index_of(after, "cd.evaluate(")].text
    assert "dqn_weights.h5f.index" in rest[index_of(after, "cd.save_weights(")].text
    assert rest[index_of(after, "monitor.seconds")].text.startswith(f"Trained {int(steps):,} steps")

    # and the same agent can go on training
    more = kernel.run_ok("dqn.fit(env, nb_steps=100, visualize=False, verbose=0)\nprint(dqn.step)", "training on")
    assert more.stdout.split() == ["100"]


# --- 4. re-running the headline cell -------------------------------------------------------------------

CLOSING_LINE = re.compile(r"^(?:Solved|Finished|Interrupted) after [\d,]+ steps in ([\d.]+) s", re.MULTILINE)
HEADLINE = re.compile(r"^Trained [\d,]+ steps in (\d+) s", re.MULTILINE)


def check_headline_run_again(kernel: Kernel, sources: list[str], runs: list[CellRun]) -> None:
    """03's headline says how long training took: that must not grow with every later cell or re-run.

    Called by the test of 03 after 02, on 03's second pass (one kernel and one training for both).
    """
    headline = index_of(sources, "monitor.seconds")
    training_seconds = float(CLOSING_LINE.search(runs[index_of(sources, "history = dqn.fit(")].stdout).group(1))
    time.sleep(2.0)
    again = kernel.run_ok(sources[headline], "the headline cell, run again 2 s later")
    assert again.text == runs[headline].text, "the headline changed when its cell was run again"
    reported = int(HEADLINE.search(runs[headline].text).group(1))
    assert abs(reported - training_seconds) <= 1, f"training took {training_seconds} s: {runs[headline].text}"
