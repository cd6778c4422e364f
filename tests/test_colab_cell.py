"""The Colab badge and setup cell: one source (scripts/colab_cell.py), written into every notebook by a script.

``test_committed_notebooks_start_with_the_colab_cells`` fails whenever a notebook's first cells differ
from that source; the fix is ``python scripts/colab_cell.py``. The cell's installer
(scripts/colab_setup.py) is checked here on the pinned stack (nothing to install) and with versions
made to look missing; ``make colab-profile`` runs it for real on Colab's versions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from cli_helpers import load_script

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def load(name: str):
    return load_script(f"scripts/{name}.py")


colab_cell = load("colab_cell")
colab_setup = load("colab_setup")


def test_committed_notebooks_start_with_the_colab_cells():
    stale = {path.name: colab_cell.differs(nbformat.read(path, as_version=4), path.name) for path in NOTEBOOKS}
    stale = {name: reason for name, reason in stale.items() if reason}
    assert not stale, f"run `python scripts/colab_cell.py` to update: {stale}"


def test_script_inserts_then_updates_in_place_and_keeps_the_lesson(tmp_path):
    copies = []
    for path in NOTEBOOKS:
        shutil.copy(path, tmp_path / path.name)
        copies.append(tmp_path / path.name)
    lesson = {
        p.name: [c.source for c in nbformat.read(p, as_version=4).cells if "colab" not in c.metadata.get("tags", [])]
        for p in copies
    }
    assert colab_cell.main([str(p) for p in copies]) == 0
    assert colab_cell.main(["--check", *map(str, copies)]) == 0
    written = {p: p.read_bytes() for p in copies}
    assert colab_cell.main([str(p) for p in copies]) == 0  # a second run changes nothing
    assert {p: p.read_bytes() for p in copies} == written
    for path in copies:
        cells = nbformat.read(path, as_version=4).cells
        assert colab_cell.colab_url(path.name) in cells[0].source
        assert cells[1].cell_type == "code" and cells[1].source == colab_cell.SETUP_CELL.format(repo=colab_cell.REPO)
        assert [c.source for c in cells[2:]] == lesson[path.name]

    # a changed source makes --check fail, and the script puts the new cell in place of the old one
    nb = nbformat.read(copies[0], as_version=4)
    nb.cells[1].source += "\nprint('edited by hand')"
    nbformat.write(nb, copies[0])
    assert colab_cell.main(["--check", str(copies[0])]) == 1
    assert colab_cell.main(["--repo", "someone/fork", str(copies[0])]) == 0
    cells = nbformat.read(copies[0], as_version=4).cells
    assert "someone/fork" in cells[0].source and "someone/fork" in cells[1].source
    assert sum("colab" in c.metadata.get("tags", []) for c in cells) == 2


def test_setup_cell_does_nothing_outside_colab(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("COLAB_RELEASE_TAG", "CARTPOLE_DQN_REPO")}
    env["CARTPOLE_DQN_COLAB_DIR"] = str(tmp_path / "clone")
    code = (
        colab_cell.SETUP_CELL.format(repo=colab_cell.REPO)
        + "\nprint(sorted(set(sys.modules) & {'runpy', 'cartpole_dqn'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"  # it neither ran the installer nor imported the series
    assert not (tmp_path / "clone").exists()


def test_readme_badges_use_the_one_repository_address(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert colab_cell.readme_badges() in readme
    copy = tmp_path / "README.md"
    copy.write_text(readme, encoding="utf-8")
    assert colab_cell.update_readme("someone/fork", copy) is True
    assert colab_cell.readme_badges("someone/fork") in copy.read_text(encoding="utf-8")
    assert colab_cell.REPO not in copy.read_text(encoding="utf-8")


def test_installer_finds_nothing_missing_on_the_pinned_stack():
    assert colab_setup.plan() == []  # TensorFlow 2.21, tf-keras 2.21, keras-rl2, Gymnasium 1.4, editable here


def test_installer_never_installs_tensorflow_or_numpy(monkeypatch):
    colab = {"tensorflow": "2.20.0", "tf-keras": "2.20.1", "numpy": "2.1.3", "gymnasium": "1.2.2", "pygame": "2.6.1"}
    colab |= {"matplotlib": "3.10.0", "pillow": "11.3.0"}
    monkeypatch.setattr(colab_setup, "version_of", colab.get)
    monkeypatch.setattr(colab_setup, "editable_source", lambda: None)
    steps = colab_setup.plan()
    assert ["--no-deps", "keras-rl2==1.0.5"] in steps
    assert ["gymnasium>=1.3,<1.5"] in steps  # 1.2 is too old
    assert steps[-1] == ["--no-deps", "--editable", str(ROOT)]
    assert not any(word.startswith(("tensorflow", "numpy", "tf-keras")) for step in steps for word in step)
    colab["tf-keras"] = "2.19.0"  # a tf-keras of another minor version is replaced by the matching one
    assert ["--no-deps", "tf-keras==2.20.*"] in colab_setup.plan()


def test_installer_refuses_a_runtime_without_tensorflow(monkeypatch):
    monkeypatch.setattr(colab_setup, "version_of", lambda name: None)
    with pytest.raises(SystemExit, match="never installs it"):
        colab_setup.plan()


@pytest.mark.parametrize(("text", "numbers"), [("2.20.1", (2, 20, 1)), ("1.3.0rc1", (1, 3, 0)), (None, ())])
def test_release_numbers(text, numbers):
    assert colab_setup.release(text) == numbers
