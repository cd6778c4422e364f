"""The setup doctor: real verdicts on this machine, and failures reported with a fix, never raised."""

from __future__ import annotations

import sys
import time
from importlib import metadata

from cartpole_dqn import build_model, doctor, reset_session, weights
from cartpole_dqn.doctor import Check, check_setup, format_report
from cartpole_dqn.settings import PROJECT_ROOT

import pytest


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


@pytest.fixture
def shipped_in(tmp_path, monkeypatch):
    """Point the shipped-weights location at a tmp folder; returns a function that saves weights there."""
    folder = tmp_path / "weights"
    monkeypatch.setattr(weights, "SHIPPED_WEIGHTS", folder / "dqn_pretrained.h5f")
    monkeypatch.setattr(weights, "SHIPPED_METADATA", folder / "dqn_pretrained.json")

    def ship():
        reset_session()
        return weights._save_shipped(build_model(4, 2), {}, folder / "dqn_pretrained.h5f")

    return folder, ship


def test_this_setup_passes_every_check_but_the_shipped_weights_in_an_empty_folder(shipped_in, capsys):
    folder, _ = shipped_in
    started = time.perf_counter()
    checks = check_setup(verbose=True, weights_dir=folder)
    assert time.perf_counter() - started < 2.0
    results = by_name(checks)
    assert list(results) == [
        "Python version",
        "Package versions",
        "Keras 2 (tf-keras)",
        "Gymnasium API",
        "Drawing the cart (rgb_array)",
        "weights/ folder writable",
        "Shipped pre-trained weights",
    ]
    assert [name for name, check in results.items() if not check.ok] == ["Shipped pre-trained weights"]
    assert "weights/ folder" in results["Shipped pre-trained weights"].fix  # (tmp location: copy it there)
    assert not folder.exists()  # the writability probe cleaned up after itself
    printed = capsys.readouterr().out
    assert "FAIL  Shipped pre-trained weights" in printed and "fix: " in printed
    assert "1 of 7 checks failed" in printed
    assert not checks.ok
    assert repr(checks) == "<setup report: 1 of 7 checks failed: Shipped pre-trained weights>"


def test_shipped_weights_present_and_then_damaged(shipped_in):
    folder, ship = shipped_in
    ship()
    check = by_name(check_setup(verbose=False, weights_dir=folder))["Shipped pre-trained weights"]
    assert check.ok, check
    assert "checksums match" in check.detail
    data = folder / "dqn_pretrained.h5f.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:-8] + b"XXXXXXXX")
    check = by_name(check_setup(verbose=False, weights_dir=folder))["Shipped pre-trained weights"]
    assert not check.ok
    assert "SHA-256 does not match" in check.detail
    assert "weights/ folder" in check.fix


def test_all_checks_pass_with_shipped_weights(shipped_in):
    folder, ship = shipped_in
    ship()
    checks = check_setup(verbose=False, weights_dir=folder)
    assert all(check.ok for check in checks), format_report(checks)
    assert "All 7 checks passed" in format_report(checks)
    assert checks.ok and repr(checks) == "<setup report: all 7 checks passed>"


def test_wrong_pin_is_reported_with_a_fix(tmp_path, shipped_in):
    numpy_version = metadata.version("numpy")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# a comment\n"
        "-e .\n"
        f"numpy=={numpy_version}\n"
        "tensorflow==0.0.1\n"
        'pytest==0.0.1; python_version < "3.0"\n'  # not for this Python: ignored
        "surely-not-installed-package==1.0\n"
    )
    check = by_name(check_setup(verbose=False, requirements=requirements, weights_dir=shipped_in[0]))[
        "Package versions"
    ]
    assert not check.ok
    assert f"tensorflow {metadata.version('tensorflow')} is installed, requirements.txt wants ==0.0.1" in check.detail
    assert "surely-not-installed-package is not installed" in check.detail
    assert "numpy" not in check.detail and "pytest" not in check.detail
    assert "pip install -r requirements.txt" in check.fix


def test_the_projects_requirements_match_this_venv():
    check = doctor._requirements(PROJECT_ROOT / "requirements.txt")
    assert check.ok, check.detail


def test_missing_requirements_file_is_a_failed_check(tmp_path):
    check = doctor._requirements(tmp_path / "requirements.txt")
    assert not check.ok
    assert "not found" in check.detail and "git checkout requirements.txt" in check.fix


def test_unwritable_weights_folder_is_reported(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    check = doctor._writable(blocker / "weights")
    assert not check.ok
    assert "cannot write" in check.detail and "CARTPOLE_DQN_WEIGHTS_DIR" in check.fix


def test_python_versions():
    assert doctor._python((3, 11, 7)).ok
    assert doctor._python((3, 13, 0)).ok
    old, new = doctor._python((3, 9, 18)), doctor._python((3, 14, 0))
    assert not old.ok and not new.ok
    assert "3.10" in new.fix and "3.14.0" in new.detail
    assert doctor._python(tuple(sys.version_info)).ok


def test_a_check_that_crashes_becomes_a_failed_row(shipped_in, monkeypatch):
    def broken(env_id):
        raise RuntimeError("pygame exploded\nwith two lines")

    monkeypatch.setattr(doctor, "_rendering", broken)
    check = by_name(check_setup(verbose=False, weights_dir=shipped_in[0]))["Drawing the cart (rgb_array)"]
    assert not check.ok
    assert "RuntimeError: pygame exploded with two lines" in check.detail
    assert check.fix


def test_brief_report_is_one_line_when_ready_and_the_table_when_not(tmp_path, capsys):
    report = check_setup(brief=True)
    out = capsys.readouterr().out
    if report.ok:
        assert out.count("\n") == 1 and "all 7 checks passed" in out
    empty = tmp_path / "no-weights"
    empty.mkdir()
    failing = check_setup(brief=True, weights_dir=empty)
    out = capsys.readouterr().out
    assert not failing.ok
    assert "FAIL  Shipped pre-trained weights" in out and "fix:" in out
