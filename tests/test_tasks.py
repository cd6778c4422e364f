"""``python tasks.py VERB``, the Makefile's verbs without make (Windows): the README's commands, as written.

The README's "Without make" block is read and each command is run exactly as written there, with
``--dry-run`` added for the verbs that would start a long run or a server (run, lab, test): their
commands must be the Makefile's (``make -n``), so both routes do the same. ``setup`` (already set up
here) and ``doctor`` run for real.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DEV_TOOLS = {"pytest", "pytest-xdist", "execnet", "iniconfig", "pluggy", "nbval", "coverage", "ruff"}


def load_tasks():
    spec = importlib.util.spec_from_file_location("tasks_under_test", ROOT / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def readme_commands() -> list[str]:
    """The ``python tasks.py ...`` lines of the README's "Without make" section, comments removed."""
    section = README.split("### Without make", 1)[1].split("\n#", 1)[0]
    block = re.search(r"```\w*\n(.*?)```", section, re.S).group(1)
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.startswith("python tasks.py")]


def run_as_written(command: str, *extra: str) -> subprocess.CompletedProcess:
    words = shlex.split(command)
    assert words[:2] == ["python", "tasks.py"], command
    env = {key: value for key, value in os.environ.items() if key != "CARTPOLE_DQN_SMOKE"}
    return subprocess.run(
        [sys.executable, *words[1:], *extra], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300
    )


def make_commands(verb: str) -> list[str]:
    """What ``make -n VERB`` would run for the verb itself (setup is up to date here)."""
    # under `make test` the parent make's variables would make this one print "Entering directory" lines
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}
    out = subprocess.run(
        ["make", "-n", "--no-print-directory", verb], cwd=ROOT, capture_output=True, text=True, check=True, env=env
    ).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def test_readme_lists_every_verb():
    verbs = [command.split()[2] for command in readme_commands()]
    assert verbs == ["setup", "run", "lab", "test", "doctor"]


@pytest.mark.skipif(shutil.which("make") is None, reason="compares with the Makefile, which needs make")
@pytest.mark.parametrize("verb", ["run", "lab", "test"])
def test_long_verbs_run_what_the_makefile_runs(verb):
    (command,) = [c for c in readme_commands() if c.split()[2] == verb]
    result = run_as_written(command, "--dry-run")
    assert result.returncode == 0, result.stderr
    printed = [line[2:] for line in result.stdout.splitlines() if line.startswith("+ ")]
    relative = [line.replace(str(ROOT) + os.sep, "") for line in printed]
    assert relative == make_commands(verb)


def test_setup_when_set_up_does_nothing_and_doctor_runs_the_doctor(capsys):
    tasks = load_tasks()
    if not tasks.is_set_up():
        pytest.fail("tests run from a .venv made by `make setup`, which tasks.py must recognise as set up")
    (setup,) = [c for c in readme_commands() if c.endswith("setup")]
    result = run_as_written(setup)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr
    (doctor,) = [c for c in readme_commands() if c.endswith("doctor")]
    via_tasks = run_as_written(doctor)
    assert "Python version" in via_tasks.stdout
    from cartpole_dqn import cli

    capsys.readouterr()
    direct = cli.main(["doctor"])  # the same doctor, in this process (which runs the venv's Python)
    assert via_tasks.returncode == direct
    assert "Python version" in capsys.readouterr().out


def test_setup_commands_choose_uv_and_the_wheelhouse(tmp_path, monkeypatch):
    tasks = load_tasks()
    monkeypatch.setattr(tasks, "WHEELHOUSE", tmp_path / "wheelhouse")
    monkeypatch.setattr(tasks.shutil, "which", lambda name: None)
    venv = tmp_path / "venv"
    pip_route = tasks.setup_commands("python3.12", venv)
    assert pip_route[0] == ["python3.12", "-m", "venv", str(venv)]
    assert pip_route[-1][-2:] == ["-r", "requirements.txt"] and "--no-index" not in pip_route[-1]
    (tmp_path / "wheelhouse").mkdir()
    monkeypatch.setattr(tasks.shutil, "which", lambda name: "/opt/uv" if name == "uv" else None)
    uv_route = tasks.setup_commands("python3.12", venv)
    assert uv_route[-1][:3] == ["/opt/uv", "pip", "install"]
    assert uv_route[-1][uv_route[-1].index("--find-links") + 1] == str(tmp_path / "wheelhouse")
    assert "--no-index" in uv_route[-1]


def test_unsupported_python_gets_one_clear_sentence():
    tasks = load_tasks()
    assert tasks.check_python((3, 12, 1)) is None
    message = tasks.check_python((3, 14, 0))
    assert "Python 3.14" in message and "py -3.12 tasks.py setup" in message


def test_learner_requirements_are_the_lock_without_the_test_tools():
    def entries(name: str) -> list[str]:
        return [line for line in (ROOT / name).read_text().splitlines() if line and not line.startswith("#")]

    lock = entries("requirements.txt")
    expected = [line for line in lock if re.split(r"[=\[; ]", line, maxsplit=1)[0].lower() not in DEV_TOOLS]
    assert entries("requirements-learner.txt") == expected
    # pytest, pytest-xdist, execnet, iniconfig, pluggy, nbval, ruff, and coverage's two lines
    assert len(lock) - len(expected) == 9
