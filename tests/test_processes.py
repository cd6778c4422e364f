"""Issue 11 across processes: signals, concurrent readers and writers, a full disk, broken installs.

Each test starts real Python processes (each imports TensorFlow, about 4 s), with
``CARTPOLE_DQN_WEIGHTS_DIR`` in a temporary folder: nothing touches the repository's ``weights/``.
(That ``train --overwrite`` cannot reach the project's shipped agent from another weights folder is
checked in this process, in test_nothing_lost.py.)
"""

from __future__ import annotations

import queue
import resource
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
from cli_helpers import cli_environment, run_module

#: Makes the listed top-level modules impossible to import, as if they were not installed.
BLOCKER = """
import os, sys
_BLOCKED = set(filter(None, os.environ.get("BLOCK_MODULES", "").split(",")))
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _Block())
"""


@pytest.mark.parametrize(
    ("blocked", "missing"),
    [
        ("rl", "keras-rl2"),
        ("tensorflow,tf_keras,rl,gymnasium,numpy,PIL,pygame,matplotlib,packaging", "tensorflow, tf-keras, keras-rl2"),
    ],
)
def test_the_doctor_runs_and_names_each_missing_library(tmp_path, blocked, missing):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = cli_environment(tmp_path, BLOCK_MODULES=blocked, PYTHONPATH=str(tmp_path))
    result = run_module("doctor", cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "FAIL  Libraries installed" in result.stdout and f"missing: {missing}" in result.stdout
    assert "-m pip install" in result.stdout and '"keras-rl2==1.0.5"' in result.stdout
    assert "checks failed: apply the fixes above" in result.stdout
    other = run_module("evaluate", cwd=tmp_path, env=env)  # every other command: one line pointing to the doctor
    assert other.returncode == 2
    assert (
        other.stderr.startswith("error: the library keras-rl2 is not installed") or "is not installed" in other.stderr
    )
    assert "python -m cartpole_dqn doctor" in other.stderr and "Traceback" not in other.stderr


def test_a_broken_library_is_reported_not_raised(tmp_path):
    (tmp_path / "gymnasium").mkdir()
    (tmp_path / "gymnasium" / "__init__.py").write_text("raise RuntimeError('this gymnasium is broken')\n")
    result = run_module("doctor", cwd=tmp_path, env=cli_environment(tmp_path, PYTHONPATH=str(tmp_path)))
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "broken: gymnasium (RuntimeError: this gymnasium is broken)" in result.stdout


def test_sigterm_during_training_saves_what_was_reached_and_says_so(tmp_path):
    process = subprocess.Popen(
        # Acrobot is not solved in seconds (CartPole can be), so the signal always lands during training
        [
            sys.executable,
            "-m",
            "cartpole_dqn",
            "train",
            "--env",
            "Acrobot-v1",
            "--steps",
            "200000",
            "--weights",
            "agent.h5f",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=cli_environment(tmp_path),
    )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=read_lines, args=(process.stdout, lines), daemon=True).start()
    first = lines.get(timeout=120)
    assert first is not None and first.startswith("Training a DQN agent"), first
    progress = lines.get(timeout=120)  # the first progress line: 500 steps trained and checked
    assert progress is not None and " step " in progress, progress
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=120)
    out = first + progress + "".join(iter(lambda: lines.get(timeout=60), None))
    err = process.stderr.read()
    assert process.returncode == 143, out + err
    assert "Training was stopped with SIGTERM" in err and "Traceback" not in err
    assert "Saved the weights to agent.h5f" in out
    assert (tmp_path / "agent.h5f.index").is_file() and (tmp_path / "agent.json").is_file()


def read_lines(stream, lines: queue.Queue[str | None]) -> None:
    """Put each line of ``stream`` into ``lines``, then None at its end (runs in a thread)."""
    for line in stream:
        lines.put(line)
    lines.put(None)


CTRL_C_AT_TENSORFLOW = """
import builtins, os, signal
_real_import = builtins.__import__
def _import(name, *args, **kwargs):
    if name == "tensorflow" or name.startswith("tensorflow."):  # the learner presses Ctrl+C right now
        builtins.__import__ = _real_import
        os.kill(os.getpid(), signal.SIGINT)
    return _real_import(name, *args, **kwargs)
builtins.__import__ = _import
"""


def test_ctrl_c_while_tensorflow_loads_exits_130_quietly(tmp_path):
    # The signal is sent from inside the first `import tensorflow`, so it lands while TensorFlow loads on
    # any machine (a fixed sleep landed after the doctor had finished on a fast, idle one).
    (tmp_path / "sitecustomize.py").write_text(CTRL_C_AT_TENSORFLOW)
    result = run_module("doctor", cwd=tmp_path, env=cli_environment(tmp_path, PYTHONPATH=str(tmp_path)))
    assert result.returncode == 130, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


#: The processes meet through files in signals/: each writer saves once and says so, the reader
#: starts reading once both files exist and says so, the writers then save over each other while
#: the reader reads, and the reader stops when the test says the writers are done.
SIGNALS = """
import sys, time
from pathlib import Path
SIGNALS = Path("signals")
def wait_for(*names):
    deadline = time.time() + 120
    while not all((SIGNALS / name).exists() for name in names):
        if time.time() > deadline:
            sys.exit(f"waited 120 s for {names}")
        time.sleep(0.01)
"""

WRITER = (
    SIGNALS
    + """
import cartpole_dqn as cd
path, seed, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cd.set_seeds(seed)
model = cd.build_model(4, 2)
cd.save_weights(model, path, overwrite=True)
(SIGNALS / f"writer-{seed}").touch()
wait_for("reader")
for _ in range(rounds):
    cd.save_weights(model, path, overwrite=True)
print("saved", rounds)
"""
)

READER = (
    SIGNALS
    + """
import numpy as np
import cartpole_dqn as cd
path = sys.argv[1]
known = {}
for seed in (1, 2):
    cd.set_seeds(seed)
    known[seed] = cd.build_model(4, 2).get_weights()[0]
wait_for("writer-1", "writer-2")
(SIGNALS / "reader").touch()
reads = 0
while not (SIGNALS / "stop").exists():
    kernel = cd.weights.read_weights(path).layers[0][1]["kernel"]
    assert any(np.array_equal(kernel, k) for k in known.values()), "a mix of two saves"
    reads += 1
print("reads", reads)
"""
)


def test_concurrent_saves_and_loads_never_see_half_a_save(tmp_path):
    (tmp_path / "writer.py").write_text(WRITER)
    (tmp_path / "reader.py").write_text(READER)
    (tmp_path / "signals").mkdir()
    path = str(tmp_path / "shared.h5f")
    run = dict(cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    writers = [subprocess.Popen([sys.executable, "writer.py", path, seed, "15"], **run) for seed in ("1", "2")]
    reader = subprocess.Popen([sys.executable, "reader.py", path], **run)
    try:
        results = [process.communicate(timeout=240) for process in writers]
    finally:
        (tmp_path / "signals" / "stop").touch()  # the reader stops once the writers are done (or failed)
    results.append(reader.communicate(timeout=240))
    for process, (out, err) in zip([*writers, reader], results, strict=True):
        assert process.returncode == 0, out + err[-3000:]
    assert "saved 15" in results[0][0] and "saved 15" in results[1][0]
    assert int(results[2][0].split()[-1]) > 10  # reads while 30 saves replaced the files
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers == [
        "reader.py",
        "shared.h5f.data-00000-of-00001",
        "shared.h5f.index",
        "shared.json",
        "signals",
        "writer.py",
    ]


def test_a_full_disk_is_one_clear_line_and_leaves_no_temporary_files(tmp_path):
    (tmp_path / "keep").mkdir()

    def small_files_only():
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))  # like `ulimit -f 2`

    code = textwrap.dedent(
        """
        import cartpole_dqn as cd
        try:
            cd.save_weights(cd.build_model(4, 2, hidden=64), "keep/agent.h5f")
        except cd.WeightsError as exc:
            print("WeightsError:", exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=small_files_only,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("WeightsError: Saving the weights to keep/agent.h5f failed"), result.stdout
    assert "previous files, if any, are unchanged" in result.stdout
    assert list((tmp_path / "keep").iterdir()) == []
