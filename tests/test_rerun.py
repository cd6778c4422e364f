"""Learners re-run cells: the notebooks must survive it, in one kernel, as in a workshop.

* "Run All" twice in the same kernel, for each of the four notebooks;
* notebook 02, then notebook 03, in the same kernel;
* interrupting training ("Interrupt Kernel", Ctrl+C in a console) leaves a usable agent, and
  the rest of notebook 03 runs;
* running 03's headline cell again prints the same headline (the training time must not grow).

Starting a kernel and training are the slow parts, so "02 then 03" runs in the kernel of 02's
Run-All-twice test, and the headline re-run after 03's second Run All.

Each test starts one real Jupyter kernel (jupyter_client, the same ipykernel JupyterLab uses)
with ``CARTPOLE_DQN_SMOKE=1``, the working directory ``notebooks/`` and ``TMPDIR`` in
``tmp_path`` (smoke runs save their weights into temporary folders, which pytest then removes).
Every wait has a timeout, so a hanging kernel fails the test instead of blocking CI.
"""

from __future__ import annotations

import os
import queue
import re
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
START_TIMEOUT = 120  # seconds for the kernel to start
CELL_TIMEOUT = 120  # seconds for any one cell
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CHECK_OUTPUT = "nbval-check-output"  # the cell tag nbval compares outputs of


def code_cells(name: str) -> list[str]:
    """The sources of a notebook's code cells, in order."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def tagged_sources(name: str, tag: str) -> set[str]:
    """The sources of the code cells that carry ``tag`` in their metadata."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    return {c.source for c in notebook.cells if c.cell_type == "code" and tag in c.metadata.get("tags", [])}


def index_of(sources: list[str], needle: str) -> int:
    """The position of the one code cell whose source contains ``needle``."""
    found = [i for i, source in enumerate(sources) if needle in source]
    assert len(found) == 1, f"expected one code cell containing {needle!r}, found {len(found)}"
    return found[0]


@dataclass
class CellRun:
    """What one executed cell gave: the reply's status and its text output."""

    source: str
    status: str = "running"  # then the execute_reply's status: "ok", "error" or "aborted"
    stdout: str = ""
    text: str = ""  # stdout and stderr, then the text/plain of results and displays
    error: str = ""  # "ename: evalue" and the traceback, without colour codes
    seconds: float = 0.0

    def describe(self) -> str:
        return f"--- cell ---\n{self.source}\n--- output ---\n{self.text}\n--- error ---\n{self.error}"


class Kernel:
    """One ipykernel, started with the smoke switch, running code cells one at a time."""

    def __init__(self, tmp_path: Path) -> None:
        env = {**os.environ, "CARTPOLE_DQN_SMOKE": "1", "TMPDIR": str(tmp_path)}
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(NOTEBOOKS), env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=START_TIMEOUT)
        except RuntimeError:
            self.close()
            raise

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    # -- running cells ------------------------------------------------------------------------
    def submit(self, source: str) -> tuple[str, CellRun]:
        msg_id = self.client.execute(source, store_history=True, allow_stdin=False)
        return msg_id, CellRun(source)

    def wait(self, msg_id: str, run: CellRun, timeout: float = CELL_TIMEOUT, until=None) -> CellRun:
        """Collect the cell's output until it finishes (or, with ``until``, until ``until(run)`` is true)."""
        deadline = time.monotonic() + timeout
        started = time.perf_counter() - run.seconds
        while run.status == "running":
            if until is not None and until(run):
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no answer from the kernel within {timeout} s\n{run.describe()}")
            try:
                msg = self.client.get_iopub_msg(timeout=min(remaining, 1.0))
            except queue.Empty:
                if not self.manager.is_alive():
                    pytest.fail(f"the kernel died\n{run.describe()}")
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                run.text += content["text"]
                if content["name"] == "stdout":
                    run.stdout += content["text"]
            elif kind in ("execute_result", "display_data"):
                run.text += content["data"].get("text/plain", "") + "\n"
            elif kind == "error":
                run.error = ANSI.sub("", f"{content['ename']}: {content['evalue']}\n" + "\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                run.status = self._reply_status(msg_id, deadline)
        run.seconds = time.perf_counter() - started
        return run

    def _reply_status(self, msg_id: str, deadline: float) -> str:
        while True:
            try:
                reply = self.client.get_shell_msg(timeout=max(deadline - time.monotonic(), 1.0))
            except queue.Empty:
                pytest.fail("the kernel went idle but sent no execute_reply")
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]["status"]

    def run(self, source: str, timeout: float = CELL_TIMEOUT) -> CellRun:
        return self.wait(*self.submit(source), timeout=timeout)

    def run_ok(self, source: str, where: str = "") -> CellRun:
        """Run a cell and fail the test, showing the traceback, unless it succeeds."""
        run = self.run(source)
        if run.status != "ok":
            pytest.fail(f"{where}: cell ended with status {run.status!r}\n{run.describe()}")
        return run

    def run_all(self, sources: list[str], where: str) -> list[CellRun]:
        """Run cells in order, like "Run All"; stop at the first cell that fails."""
        return [
            self.run_ok(source, f"{where}, code cell {i + 1} of {len(sources)}") for i, source in enumerate(sources)
        ]


@pytest.fixture
def kernel(tmp_path):
    started = Kernel(tmp_path)
    yield started
    started.close()


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


RUN_ALL_TWICE = {
    "01_random_baseline.ipynb": check_01,
    "02_the_model.ipynb": check_02,
    "03_training.ipynb": check_03,
    "04_save_and_reload.ipynb": check_04,
}


@pytest.mark.parametrize("name", list(RUN_ALL_TWICE))
def test_run_all_twice_in_one_kernel(kernel, name):
    sources = code_cells(name)
    first = kernel.run_all(sources, f"{name}, first Run All")
    second = kernel.run_all(sources, f"{name}, second Run All in the same kernel")
    RUN_ALL_TWICE[name](first, second)
    if name == "02_the_model.ipynb":  # then notebook 03 in the same kernel, as a learner goes on
        check_03_after_02(kernel)
    if name == "03_training.ipynb":  # and its headline cell run once more
        check_headline_run_again(kernel, sources, second)


# --- 2. notebook 02, then notebook 03, in one kernel -----------------------------------------------


def check_03_after_02(kernel: Kernel) -> None:
    """Notebook 03 in the kernel that ran 02 (called by the Run-All-twice test of 02: one kernel for both)."""
    sources = code_cells("03_training.ipynb")
    runs = kernel.run_all(sources, "03_training.ipynb after 02 in the same kernel")
    assert "states: 4 | actions: 2" in runs[index_of(sources, "cd.env_sizes(env)")].text
    assert "770 parameters" in runs[index_of(sources, "count_params()")].text
    assert "same scores as dqn.test: True" in runs[index_of(sources, "cd.evaluate(")].text
    assert runs[index_of(sources, "monitor.seconds")].text.startswith("Trained ")


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

    Called by the Run-All-twice test of 03, on its second pass (one kernel and one training for both).
    """
    headline = index_of(sources, "monitor.seconds")
    training_seconds = float(CLOSING_LINE.search(runs[index_of(sources, "history = dqn.fit(")].stdout).group(1))
    time.sleep(2.0)
    again = kernel.run_ok(sources[headline], "the headline cell, run again 2 s later")
    assert again.text == runs[headline].text, "the headline changed when its cell was run again"
    reported = int(HEADLINE.search(runs[headline].text).group(1))
    assert abs(reported - training_seconds) <= 1, f"training took {training_seconds} s: {runs[headline].text}"
