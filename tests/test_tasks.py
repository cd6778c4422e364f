"""``tasks.py`` holds the verbs (the Makefile calls it; Windows runs it directly): what each promises a user."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import load_script

ROOT = Path(__file__).resolve().parent.parent
DEV_TOOLS = {"pytest", "pytest-xdist", "execnet", "iniconfig", "pluggy", "nbval", "coverage", "ruff"}


def load_tasks():
    return load_script("tasks.py")


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


def load_canary():
    return load_script("scripts/canary.py")


def test_canary_is_its_own_verb_and_not_part_of_make_test(project, capsys):
    tasks, _, ran = project
    assert tasks.main(["--dry-run", "canary", "--rebuild"]) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("+ ")]
    assert printed == ["+ " + subprocess.list2cmdline([sys.executable, "scripts/canary.py", "--rebuild"])]
    assert ran == []  # dry run: nothing ran, and .venv was not needed
    if shutil.which("make"):
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "UV")}
        made = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, env=env, check=True)
        assert "canary" not in made.stdout and " unit" in made.stdout
        made = subprocess.run(["make", "-n", "canary"], cwd=ROOT, capture_output=True, text=True, env=env, check=True)
        assert made.stdout.rstrip().endswith(" canary")


def test_canary_runs_the_unit_tests_and_every_notebook_it_finds(tmp_path):
    canary = load_canary()
    (tmp_path / "notebooks" / "data").mkdir(parents=True)
    for name in ("07_dqn_written_out.ipynb", "01_random_baseline.ipynb", "08_keras3.ipynb", "data/x.json"):
        (tmp_path / "notebooks" / name).write_text("{}")
    (unit_label, unit, unit_env, unit_xml), (label, notebooks, env, xml) = canary.test_commands(
        "py", tmp_path, tmp_path
    )
    assert unit_label == "unit tests" and unit_env == {} and f"--junitxml={unit_xml}" in unit and "tests" in unit
    assert label == "notebook cells" and env == {"CARTPOLE_DQN_SMOKE": "1"} and f"--junitxml={xml}" in notebooks
    files = ["notebooks/01_random_baseline.ipynb", "notebooks/07_dqn_written_out.ipynb", "notebooks/08_keras3.ipynb"]
    at = notebooks.index("--nbval-current-env") + 1
    assert notebooks[at : at + 3] == files and "notebooks" not in notebooks


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="6">
<testcase classname="tests.test_fine" name="test_passes" time="0.1"/>
<testcase classname="tests.test_fine" name="test_skipped" time="0.0"><skipped message="needs make"/></testcase>
<testcase classname="tests.test_doctor" name="test_ranges" time="0.2"><failure message="AssertionError: assert False">
tests/test_doctor.py:40: in test_ranges
    assert row.ok, row.detail
E   AssertionError: outside the declared range: tensorflow 2.22.0rc0 (needs &lt;2.22,&gt;=2.20)</failure></testcase>
<testcase classname="tests.test_model" name="test_fit" time="0.3"><failure message="AttributeError: no attribute">
cartpole_dqn/agent.py:12: in fit
    dqn.fit(env)
/x/.venv-canary/lib/python3.11/site-packages/rl/core.py:150: in fit
    self.forward(observation)
/x/.venv-canary/lib/python3.11/site-packages/tf_keras/src/engine/training.py:99: in predict
    raise AttributeError("no attribute")
/x/.venv-canary/lib/python3.11/site-packages/_pytest/python_api.py:9: in raises
E   AttributeError: no attribute</failure></testcase>
<testcase classname="notebooks.07_dqn_written_out.ipynb" name="Cell 12" time="1"><failure message="cell failed">
\x1b[0;31mValueError\x1b[0m in \x1b[0;32m/x/.venv-canary/lib/python3.11/site-packages/keras/src/ops/core.py\x1b[0m:12</failure></testcase>
<testcase classname="tests.test_other" name="test_odd" time="0.1"><error message="setup failed">OSError: disk full</error></testcase>
</testsuite></testsuites>
"""


def test_canary_names_each_failure_and_the_package_that_caused_it(tmp_path):
    canary = load_canary()
    junit = tmp_path / "unit.xml"
    junit.write_text(JUNIT.replace("\x1b", "#x1B"), encoding="utf-8")  # pytest's junitxml writes ESC so
    run, failed = canary.failures(junit)
    assert run == 5  # the skipped test is not counted
    assert failed == [
        ("tests.test_doctor::test_ranges", "tensorflow"),  # no library frame: the package its error text names
        ("tests.test_model::test_fit", "tf-keras"),  # the innermost library frame; pytest's own frame is skipped
        ("notebooks.07_dqn_written_out.ipynb::Cell 12", "keras"),
        ("tests.test_other::test_odd", "unknown"),
    ]
    assert canary.cause("\x1b[0;32m/v/site-packages/numpy/core.py\x1b[0m") == "numpy"  # colours of a notebook's error
    assert canary.cause("keras-rl2 1.0.5 needs tf-keras") == "keras-rl2"
    # a package whose version is not the lock's comes first, named in the error, else in the test's output
    assert canary.cause("Keras 2 (tf-keras) failed; tensorflow 2.22.0rc0", suspects=["tensorflow"]) == "tensorflow"
    assert canary.cause("assert 1 == 0", "FAIL tensorflow 2.22.0rc0 (needs <2.22)", ["tensorflow"]) == "tensorflow"
    assert canary.cause("Keras 2 (tf-keras) failed", "printed numpy", ["tensorflow"]) == "keras"


def test_canary_suspects_the_packages_whose_versions_are_not_the_locks(tmp_path):
    canary = load_canary()
    lock = tmp_path / "requirements.txt"
    lock.write_text('numpy==2.2.6; python_version < "3.11"\nnumpy==2.4.6\ntensorflow==2.21.0\ntf_keras==2.21.0\n')
    installed = {"tensorflow": "2.22.0rc0", "numpy": "2.4.6", "tf-keras": "2.21.0", "keras-nightly": "3.16.0.dev1"}
    assert canary.changed(installed, lock) == ["tensorflow", "keras-nightly"]


def test_canary_reuses_its_venv_only_while_it_holds_the_newest_versions(tmp_path):
    canary = load_canary()
    venv = tmp_path / "venv"
    newest = {"tensorflow": "2.22.0rc0", "numpy": "2.4.6"}
    assert canary.reusable(venv, newest) is None  # nothing built
    canary.venv_python(venv).parent.mkdir(parents=True)
    canary.venv_python(venv).write_text("")
    (venv / "canary.json").write_text(json.dumps({"newest": newest}))
    assert canary.reusable(venv, dict(newest)) == {"newest": newest}
    assert canary.reusable(venv, {**newest, "tensorflow": "2.22.0"}) is None  # a newer release: rebuild
    assert canary.reusable(venv, {**newest, "numpy": None}) == {"newest": newest}  # registry silent: keep it


def test_canary_record_is_what_docs_stack_md_shows():
    canary = load_canary()
    result = json.loads((ROOT / "docs" / "canary.json").read_text(encoding="utf-8"))
    text = (ROOT / "docs" / "stack.md").read_text(encoding="utf-8")
    assert canary.stack_table(result) in text
    assert "tensorflow" in result["versions"] and "unit tests" in result["results"]
