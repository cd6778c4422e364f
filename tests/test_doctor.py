"""The setup doctor: real verdicts on this machine, and failures reported with a fix, never raised."""

from __future__ import annotations

import sys
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
    checks = check_setup(verbose=True, weights_dir=folder)
    results = by_name(checks)
    assert list(results) == [
        "Python version",
        "Libraries installed",
        "TensorFlow and tf-keras",
        "keras-rl2",
        "Keras 2 (tf-keras)",
        "Gymnasium API",
        "Drawing the cart (rgb_array)",
        "weights/ folder writable",
        "Shipped pre-trained weights",
        "Other versions (information)",
    ]
    assert [name for name, check in results.items() if not check.ok] == ["Shipped pre-trained weights"]
    assert "weights/ folder" in results["Shipped pre-trained weights"].fix  # (tmp location: copy it there)
    assert not folder.exists()  # the writability probe cleaned up after itself
    printed = capsys.readouterr().out
    assert "FAIL  Shipped pre-trained weights" in printed and "fix: " in printed
    assert "1 of 9 checks failed" in printed
    assert not checks.ok
    assert repr(checks) == "<setup report: 1 of 9 checks failed: Shipped pre-trained weights>"


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
    (folder / "dqn_pretrained.json").write_text("{ not json")  # issue 11: was "ok ... missing", checksums skipped
    check = by_name(check_setup(verbose=False, weights_dir=folder))["Shipped pre-trained weights"]
    assert not check.ok and "dqn_pretrained.json is damaged" in check.detail


def test_all_checks_pass_with_shipped_weights(shipped_in):
    folder, ship = shipped_in
    ship()
    checks = check_setup(verbose=False, weights_dir=folder)
    assert all(check.ok for check in checks), format_report(checks)
    assert "All 9 checks passed" in format_report(checks)
    assert checks.ok and repr(checks) == "<setup report: all 9 checks passed>"


def test_other_pins_are_information_never_a_failure(tmp_path, shipped_in):
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
    checks = check_setup(verbose=False, requirements=requirements, weights_dir=shipped_in[0])
    check = by_name(checks)["Other versions (information)"]
    assert check.ok and check.note
    assert f"tensorflow {metadata.version('tensorflow')} (lock 0.0.1)" in check.detail
    assert "numpy" not in check.detail and "pytest" not in check.detail
    assert "note  Other versions (information)" in format_report(checks)


def test_the_projects_requirements_match_this_venv():
    check = doctor._versions(PROJECT_ROOT / "requirements.txt")
    assert check.ok and "all installed packages match" in check.detail, check.detail


def test_missing_requirements_file_is_only_a_note(tmp_path):
    check = doctor._versions(tmp_path / "requirements.txt")
    assert check.ok and check.note and "no pins to compare" in check.detail


COLAB = {"tensorflow": "2.20.0", "tf-keras": "2.20.1", "numpy": "2.1.3", "gymnasium": "1.3.0", "keras-rl2": "1.0.5"}


def fake_versions(monkeypatch, versions: dict[str, str | None]) -> None:
    real = doctor._installed
    monkeypatch.setattr(doctor, "_installed", lambda name: versions[name] if name in versions else real(name))


def test_colabs_runtime_passes_with_other_versions_as_information(monkeypatch, shipped_in):
    folder, ship = shipped_in
    ship()
    fake_versions(monkeypatch, COLAB)
    monkeypatch.setattr(doctor, "_where", lambda: "colab")
    real_python = doctor._python
    monkeypatch.setattr(doctor, "_python", lambda: real_python((3, 13, 5)))
    checks = check_setup(verbose=False, weights_dir=folder)
    assert checks.ok, format_report(checks)
    info = by_name(checks)["Other versions (information)"]
    assert "tensorflow 2.20.0 (lock 2.21.0)" in info.detail and "numpy 2.1.3" in info.detail


def test_tensorflow_and_tf_keras_of_different_minor_versions_fail_with_the_matching_install(monkeypatch):
    fake_versions(monkeypatch, {"tensorflow": "2.20.0", "tf-keras": "2.21.0"})
    for where, command in (("colab", '%pip install "tf-keras~=2.20.0"'), ("venv", '-m pip install "tf-keras~=2.20.0"')):
        monkeypatch.setattr(doctor, "_where", lambda where=where: where)
        check = doctor._tensorflow_pair()
        assert not check.ok and "minor versions differ" in check.detail
        assert command in check.fix
        assert ("Runtime > Restart session" in check.fix) == (where == "colab")


def test_fixes_fit_where_the_doctor_runs(monkeypatch):
    fake_versions(monkeypatch, {"keras-rl2": "1.0.4"})
    expected = {
        "colab": ('%pip install "keras-rl2==1.0.5"', "Runtime > Restart session"),
        "conda": ('conda environment run `python -m pip install "keras-rl2==1.0.5"`', ""),
        "venv": ('bin/python -m pip install "keras-rl2==1.0.5"', ""),
        "system": ("make setup", 'python -m pip install "keras-rl2==1.0.5"'),
    }
    for where, (first, second) in expected.items():
        monkeypatch.setattr(doctor, "_where", lambda where=where: where)
        check = doctor._keras_rl2()
        assert not check.ok and "keras-rl2 1.0.4 is installed; the series needs 1.0.5" in check.detail
        assert first in check.fix and second in check.fix, (where, check.fix)


def test_keras_version_error_names_the_menu_where_it_runs(monkeypatch):
    monkeypatch.setattr(doctor, "_where", lambda: "colab")
    assert doctor.restart_advice() == "Restart the session (Runtime > Restart session)"
    monkeypatch.setattr(doctor, "_where", lambda: "venv")
    monkeypatch.setitem(sys.modules, "ipykernel", sys)
    assert doctor.restart_advice() == "Restart the kernel (Kernel > Restart Kernel)"


def test_the_supported_python_range_is_written_once_and_the_copies_agree():
    (low_major, low), (high_major, high) = doctor.SUPPORTED_PYTHONS
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text()
    assert f'requires-python = ">={low_major}.{low},<{high_major}.{high + 1}"' in pyproject
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert f"({low_major}, {low}) <= v <= ({high_major}, {high})" in makefile
    assert f"Python {low_major}.{low} to {high_major}.{high}" in makefile
    readme = (PROJECT_ROOT / "README.md").read_text()
    listed = ", ".join(f"{low_major}.{m}" for m in range(low, high)) + f" or {high_major}.{high}"
    assert f"You need Python {listed}" in readme
    assert not doctor._python((low_major, low - 1, 0)).ok and not doctor._python((high_major, high + 1, 0)).ok


def test_version_comes_from_the_installed_distribution():
    import cartpole_dqn

    assert cartpole_dqn.__version__ == metadata.version("cartpole-dqn")


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


def test_brief_report_is_one_line_when_ready_and_the_table_when_not(tmp_path, capsys, shipped_in):
    folder, ship = shipped_in
    ship()
    report = check_setup(brief=True, weights_dir=folder)
    out = capsys.readouterr().out
    assert report.ok, out
    assert out.count("\n") == 1 and "all 9 checks passed" in out
    empty = tmp_path / "no-weights"
    empty.mkdir()
    failing = check_setup(brief=True, weights_dir=empty)
    out = capsys.readouterr().out
    assert not failing.ok
    assert "FAIL  Shipped pre-trained weights" in out and "fix:" in out
