"""The setup doctor: real verdicts on this machine; versions outside pyproject's ranges fail with the pip command."""

from __future__ import annotations

import json
import shutil
import sys
from importlib import metadata

from cartpole_dqn import doctor
from cartpole_dqn.doctor import check_setup, format_report
from cartpole_dqn.settings import PROJECT_ROOT

import pytest

PIP = f"Run `{sys.executable} -m pip install"


@pytest.fixture(autouse=True)
def plain_python(monkeypatch):
    """Each test runs as in a plain Python process, whatever earlier tests imported (the fix text names a
    kernel restart only when ipykernel or Colab is loaded); test_restart_advice_follows_the_runtime sets them."""
    for module in ("ipykernel", "google.colab"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)


def by_name(checks) -> dict:
    return {check.name: check for check in checks}


@pytest.fixture
def shipped(tmp_path):
    """A copy of the project's shipped agent (its checkpoint parts and record) in a tmp weights folder."""
    folder = tmp_path / "weights"
    folder.mkdir()
    for file in (PROJECT_ROOT / "weights").glob("dqn_pretrained*"):
        shutil.copy(file, folder / file.name)
    return folder


def fake_versions(monkeypatch, versions: dict[str, str | None]) -> None:
    real = metadata.version

    def version(name):
        if name not in versions:
            return real(name)
        if versions[name] is None:
            raise metadata.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr(metadata, "version", version)


def test_this_setup_passes_every_check(shipped, capsys):
    checks = check_setup(verbose=True, weights_dir=shipped)
    assert checks.ok, format_report(checks)
    assert capsys.readouterr().out.endswith(f"All {len(checks)} checks passed: this setup is ready.\n")
    assert list(by_name(checks))[:2] == ["Python version", "Libraries installed"]


def test_an_empty_weights_folder_fails_only_the_shipped_agent(tmp_path, capsys):
    checks = check_setup(verbose=True, weights_dir=tmp_path)
    assert [check.name for check in checks if not check.ok] == ["Shipped pre-trained weights"]
    printed = capsys.readouterr().out
    assert "FAIL  Shipped pre-trained weights" in printed and "fix: Copy the project's weights/ folder" in printed
    assert repr(checks) == f"<setup report: 1 of {len(checks)} checks failed: Shipped pre-trained weights>"


def test_versions_outside_the_declared_ranges_fail_with_the_exact_pip_command(monkeypatch, shipped):
    fake_versions(monkeypatch, {"gymnasium": "1.0.0", "numpy": "1.26.4"})
    checks = check_setup(verbose=False, weights_dir=shipped)
    assert not checks.ok
    row = by_name(checks)["Libraries installed"]
    assert not row.ok
    assert "gymnasium 1.0.0 (needs <1.5,>=1.3)" in row.detail and "numpy 1.26.4 (needs <2.6,>=2.1)" in row.detail
    assert row.fix == f'{PIP} "gymnasium[classic-control]<1.5,>=1.3" "numpy<2.6,>=2.1"`.'


def test_a_missing_library_fails_with_the_pip_command(monkeypatch):
    fake_versions(monkeypatch, {"keras-rl2": None})
    row = doctor._libraries()
    assert not row.ok and row.detail == "missing: keras-rl2"
    assert row.fix == f'{PIP} "keras-rl2==1.0.5"`.'


def test_without_packaging_the_doctor_says_so_and_still_reports(monkeypatch):
    monkeypatch.setattr(doctor, "Requirement", None)
    monkeypatch.setattr(doctor, "SpecifierSet", None)
    row = doctor._libraries()
    assert not row.ok and "missing: packaging" in row.detail and "needs packaging to compare versions" in row.detail
    assert row.fix == f'{PIP} "packaging"`.'
    assert not doctor._python().ok and '"packaging"' in doctor._python().fix


def test_python_outside_the_declared_range_fails():
    wanted = doctor.declared()[0]
    assert set(wanted.split(",")) == {">=3.10", "<3.14"}
    assert doctor._python("3.13.5").ok and doctor._python("3.10.0").ok
    for outside in ("3.9.18", "3.14.0"):
        check = doctor._python(outside)
        assert not check.ok and check.detail == f"Python {outside}, but the series needs Python {wanted}"
        assert "make setup PYTHON=python3.12" in check.fix


def test_the_ranges_come_from_pyproject_when_the_package_is_not_installed(monkeypatch):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    tomllib = pytest.importorskip("tomllib")
    monkeypatch.setattr(metadata, "distribution", not_installed)
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    assert doctor.declared() == (project["requires-python"], project["dependencies"])
    assert "packaging>=23" in project["dependencies"]  # the doctor's own need is declared


def test_tensorflow_and_tf_keras_of_different_minor_versions_fail(monkeypatch):
    fake_versions(monkeypatch, {"tensorflow": "2.20.0", "tf-keras": "2.21.0"})
    check = doctor._keras_2()
    assert not check.ok and "minor versions differ" in check.detail
    assert check.fix == f'{PIP} "tf-keras~=2.20.0"`.'


def test_damaged_shipped_weights_fail(shipped):
    data = shipped / "dqn_pretrained.h5f.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:-8] + b"XXXXXXXX")
    check = by_name(check_setup(verbose=False, weights_dir=shipped))["Shipped pre-trained weights"]
    assert not check.ok and "SHA-256 does not match" in check.detail
    (shipped / "dqn_pretrained.json").write_text("{ not json")
    check = doctor._shipped(shipped / "dqn_pretrained.h5f")
    assert not check.ok and "dqn_pretrained.json is damaged" in check.detail


def test_unwritable_weights_folder_is_reported(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    check = doctor._writable(blocker / "weights")
    assert not check.ok and "cannot write" in check.detail and "CARTPOLE_DQN_WEIGHTS_DIR" in check.fix


def test_a_check_that_crashes_becomes_a_failed_row(shipped, monkeypatch):
    def broken(env_id):
        raise RuntimeError("pygame exploded\nwith two lines")

    monkeypatch.setattr(doctor, "_cartpole", broken)
    check = by_name(check_setup(verbose=False, weights_dir=shipped))["CartPole-v0 runs and draws"]
    assert not check.ok and "RuntimeError: pygame exploded with two lines" in check.detail


def test_brief_report_is_one_line_when_ready_and_the_table_when_not(tmp_path, capsys, shipped):
    assert check_setup(brief=True, weights_dir=shipped).ok
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "checks passed" in out
    assert not check_setup(brief=True, weights_dir=tmp_path).ok
    assert "FAIL  Shipped pre-trained weights" in capsys.readouterr().out


def test_version_comes_from_the_installed_distribution():
    import cartpole_dqn

    assert cartpole_dqn.__version__ == metadata.version("cartpole-dqn")


def test_colabs_runtime_is_inside_the_declared_ranges(monkeypatch):
    colab = {"tensorflow": "2.20.0", "tf-keras": "2.20.1", "numpy": "2.1.3", "gymnasium": "1.3.0"}
    fake_versions(monkeypatch, colab)
    assert doctor._libraries().ok and doctor._keras_2().ok
    assert doctor._python("3.12.11").ok


def test_the_doctor_says_which_versions_are_tested_and_which_the_canary_ran(tmp_path, shipped, capsys):
    (tmp_path / "requirements.txt").write_text(
        'numpy==2.2.6; python_version < "3"\nnumpy==2.4.6; python_version >= "3"\ntensorflow==2.21.0\n'
        "tf_keras==2.21.0\ngymnasium[classic-control]==1.4.0\n-e .\n"
    )
    note = doctor.versions_note(tmp_path)
    assert note.splitlines()[0] == "Tested versions (requirements.txt): tensorflow 2.21.0, tf-keras 2.21.0, " + (
        "gymnasium 1.4.0, numpy 2.4.6."
    )
    assert "Canary (newest releases): not recorded here" in note
    (tmp_path / "docs").mkdir()
    canary = {"date": "2026-12-07", "versions": "tensorflow 2.22.0rc0", "results": {"unit tests": "3 of 4 passed"}}
    (tmp_path / "docs" / "canary.json").write_text(json.dumps(canary))
    assert doctor.versions_note(tmp_path).splitlines()[1] == (
        "Canary (newest releases, make canary, 2026-12-07): tensorflow 2.22.0rc0; unit tests 3 of 4 passed."
    )
    check_setup(verbose=True, weights_dir=shipped)
    assert capsys.readouterr().out.startswith("Tested versions (requirements.txt): tensorflow 2.21.0")


def test_restart_advice_follows_the_runtime(monkeypatch):
    assert doctor.pip_fix("numpy<2.6") == f'{PIP} "numpy<2.6"`.'
    monkeypatch.setitem(sys.modules, "ipykernel", sys)  # any module object: only its presence counts
    assert doctor.pip_fix("numpy<2.6") == f'{PIP} "numpy<2.6"`, then restart the kernel (Kernel > Restart Kernel).'
    monkeypatch.setenv("COLAB_RELEASE_TAG", "test")
    assert doctor.restart_advice() == "Restart the session (Runtime > Restart session)"
