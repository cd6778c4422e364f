"""``tasks.py`` holds the verbs (the Makefile calls it; Windows runs it directly): what each promises a user."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV_TOOLS = {"pytest", "pytest-xdist", "execnet", "iniconfig", "pluggy", "nbval", "coverage", "ruff"}


def load_tasks():
    spec = importlib.util.spec_from_file_location("tasks_under_test", ROOT / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def project(tmp_path, monkeypatch):
    """tasks.py pointed at a tmp project whose .venv is set up (a stamp newer than its inputs); nothing runs."""
    tasks = load_tasks()
    for name in ("pyproject.toml", "requirements.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    venv = tmp_path / ".venv"
    python = tasks.venv_python(venv)
    python.parent.mkdir(parents=True)
    python.write_text("")
    (venv / ".installed").touch()
    monkeypatch.setattr(tasks, "ROOT", tmp_path)
    monkeypatch.setattr(tasks, "VENV", venv)
    monkeypatch.setattr(tasks.shutil, "which", lambda name: None)
    ran = []
    monkeypatch.setattr(
        tasks.subprocess, "run", lambda command, **kw: ran.append(command) or subprocess.CompletedProcess(command, 0)
    )
    return tasks, tmp_path, ran


def test_setup_when_set_up_does_nothing_and_reinstalls_when_the_requirements_change(project, capsys):
    tasks, root, ran = project
    assert tasks.main(["setup"]) == 0
    assert ran == [] and capsys.readouterr().out == ""
    stamp, later = root / ".venv" / ".installed", time.time() + 10
    os.utime(stamp, (later - 100, later - 100))  # requirements.txt is now newer than the stamp
    assert tasks.main(["setup"]) == 0
    assert ran[-1][-2:] == ["-r", "requirements.txt"] and "pip" in ran[-1]
    assert stamp.stat().st_mtime > later - 100  # stamped again: installed
    ran.clear()
    assert tasks.main(["doctor"]) == 0
    assert ran == [[str(tasks.venv_python(root / ".venv")), "-m", "cartpole_dqn", "doctor"]]


def test_test_runs_the_unit_tests_then_the_notebooks_under_smoke_budgets(project, capsys):
    tasks = project[0]
    assert tasks.main(["--dry-run", "test"]) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("+ ")]
    assert printed[0].endswith("-m pytest -p no:nbval -n 2 --dist worksteal tests")
    assert printed[1].startswith("+ CARTPOLE_DQN_SMOKE=1 ") and printed[1].endswith(
        "-m pytest --nbval-lax --nbval-current-env notebooks"
    )


def test_setup_commands_choose_uv_and_the_wheelhouse(tmp_path):
    tasks = load_tasks()
    venv, wheelhouse = tmp_path / "venv", tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    pip_route = tasks.setup_commands("python3.12", venv, "requirements.txt", None, wheelhouse)
    assert pip_route[0] == ["python3.12", "-m", "venv", str(venv)]
    assert pip_route[-1][-2:] == ["-r", "requirements.txt"] and "--no-index" not in pip_route[-1]  # no wheels yet
    (wheelhouse / "numpy-2.2.0-cp312-none-any.whl").write_text("")
    uv_route = tasks.setup_commands("python3.12", venv, "requirements-learner.txt", "/opt/uv", wheelhouse)
    assert uv_route[-1][:3] == ["/opt/uv", "pip", "install"] and uv_route[-1][-1] == "requirements-learner.txt"
    assert uv_route[-1][uv_route[-1].index("--find-links") + 1] == str(wheelhouse) and "--no-index" in uv_route[-1]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_passes_its_variables_to_tasks_py():
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "UV")}
    out = subprocess.run(
        ["make", "-n", "setup", "bench", "UV=", "REQUIREMENTS=requirements-learner.txt", "PEER=sb3", "PYTHON=py3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.splitlines()
    assert out[0] == 'py3 tasks.py --requirements requirements-learner.txt --wheelhouse wheelhouse --uv "" setup'
    assert out[1].endswith(" bench --peer sb3")


def test_unsupported_python_gets_one_clear_sentence():
    tasks = load_tasks()
    assert tasks.supported_pythons() == ((3, 10), (3, 13))  # pyproject.toml's requires-python
    assert tasks.check_python((3, 12, 1)) is None
    message = tasks.check_python((3, 14, 0))
    assert "Python 3.14" in message and "py -3.12 tasks.py setup" in message and message.count(". ") == 0


def test_learner_requirements_are_the_lock_without_the_test_tools():
    def entries(name: str) -> list[str]:
        return [line for line in (ROOT / name).read_text().splitlines() if line and not line.startswith("#")]

    lock = entries("requirements.txt")
    expected = [line for line in lock if re.split(r"[=\[; ]", line, maxsplit=1)[0].lower() not in DEV_TOOLS]
    assert entries("requirements-learner.txt") == expected
    # pytest, pytest-xdist, execnet, iniconfig, pluggy, nbval, ruff, and coverage's two lines
    assert len(lock) - len(expected) == 9


def test_help_needs_no_venv():
    result = subprocess.run([sys.executable, "tasks.py", "help"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and "colab-profile" in result.stdout


def test_wheelhouse_goes_where_the_learner_asked():
    import tasks

    ((command, _),) = tasks.verb_commands("wheelhouse", "python", [], "offline-wheels")
    assert command[command.index("--dest") + 1] == "offline-wheels"
