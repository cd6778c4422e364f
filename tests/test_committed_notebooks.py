"""The committed notebooks show the story, not the machine that ran them (``make run`` scrubs the paths)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nbformat
import pytest
from cli_helpers import load_script

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MACHINE_PATHS = ("/tmp/", "/home/", "/Users/", "/root/", "/work/", str(ROOT) + os.sep, tempfile.gettempdir() + os.sep)


def load_runner():
    return load_script("scripts/run_notebooks.py")


def output_texts(notebook) -> list[str]:
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")))
            texts += ["".join(v) for k, v in output.get("data", {}).items() if k.startswith("text/")]
    return texts


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_show_no_machine_path(path):
    notebook = nbformat.read(path, as_version=4)
    found = [p for text in output_texts(notebook) for p in MACHINE_PATHS if p in text]
    assert not found, f"{path.name} shows {sorted(set(found))} in its outputs: run it again with `make run`"


def test_the_runner_makes_paths_relative_and_temp_folders_a_placeholder():
    runner = load_runner()
    temp = Path(tempfile.gettempdir()).resolve() / "cartpole-dqn-abc123" / "dqn_weights.h5f"
    inside = ROOT / "weights" / "dqn_weights.h5f"
    cell = nbformat.v4.new_code_cell("print(...)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"no weights at {temp}\nsaved {inside}\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": f"'{inside}'"}, execution_count=1),
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    assert runner.scrub_machine_paths(notebook) == 2
    text = "".join(output_texts(notebook))
    assert "no weights at <temp>/cartpole-dqn-abc123/dqn_weights.h5f" in text
    assert "saved weights/dqn_weights.h5f" in text and "'weights/dqn_weights.h5f'" in text
    assert runner.scrub_machine_paths(notebook) == 0  # nothing left to change


def test_the_runner_writes_the_run_times_table_and_replaces_only_the_rows_it_measured(tmp_path):
    runner = load_runner()
    table = tmp_path / "run-times.md"
    runner.write_run_times({"01_a.ipynb": (14.6, 1_230_000), "02_b.ipynb": (9.2, 40_000)}, table, day="2026-01-02")
    runner.write_run_times({"02_b.ipynb": (11.4, 50_000)}, table, day="2026-01-03")
    rows = runner.read_run_times(table)
    assert list(rows) == ["01_a.ipynb", "02_b.ipynb"]
    assert rows["01_a.ipynb"] == f"| 01_a.ipynb | 15 | 1.23 MB | 2026-01-02 | {os.cpu_count()} |"
    assert rows["02_b.ipynb"] == f"| 02_b.ipynb | 11 | 0.05 MB | 2026-01-03 | {os.cpu_count()} |"
    assert "| notebook | seconds | size | date | machine cores |" in table.read_text()


def test_make_run_writes_each_notebooks_seconds_into_the_table(tmp_path, monkeypatch):
    runner = load_runner()
    notebook = tmp_path / "07_x.ipynb"
    notebook.write_text("{}")
    monkeypatch.setattr(runner, "run", lambda path, timeout: (42.0, "headline"))
    monkeypatch.setattr(runner, "RUN_TIMES", tmp_path / "docs" / "run-times.md")
    monkeypatch.setattr(runner, "NOTEBOOKS", tmp_path / "notebooks")
    assert runner.main([str(notebook)]) == 0
    assert "| 07_x.ipynb | 42 | 0.00 MB |" in (tmp_path / "docs" / "run-times.md").read_text()


def test_the_committed_run_times_table_lists_only_existing_notebooks():
    runner = load_runner()
    names = {path.name for path in NOTEBOOKS}
    rows = runner.read_run_times()
    assert rows, "docs/run-times.md has no rows: run `make run`"
    assert set(rows) <= names, f"docs/run-times.md lists notebooks that do not exist: {sorted(set(rows) - names)}"


#: Notebooks whose subject is the software itself, so the 1-in-5 aim for tooling cells does not apply:
#: 08 ports the loop to Keras 3 (its timing, file format and backends are the lesson), 09 is the appendix.
ABOUT_THE_SOFTWARE = {"08_keras3.ipynb", "09_appendix_files_and_errors.ipynb"}


def tooling_cells(notebook) -> list[int]:
    """The cells tagged ``tooling``: about installing, versions, the package's set-up, speed or files, not RL."""
    return [i for i, cell in enumerate(notebook.cells) if "tooling" in cell.get("metadata", {}).get("tags", [])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_at_most_one_cell_in_five_is_tooling(path):
    notebook = nbformat.read(path, as_version=4)
    tooling = tooling_cells(notebook)
    # the Colab badge and cell, and the setup heading and cell, are tooling in every notebook: tags are kept up
    assert {0, 1, 3, 4} <= set(tooling), f"{path.name}: its Colab and setup cells (0, 1, 3, 4) must be tagged tooling"
    if path.name not in ABOUT_THE_SOFTWARE:
        assert 5 * len(tooling) <= len(notebook.cells), (
            f"{path.name}: {len(tooling)} of {len(notebook.cells)} cells are tooling, more than 1 in 5: "
            "move set-up, version or file talk to notebook 09 or docs/"
        )


def test_workshop_states_the_tooling_counts_the_tags_give():
    import re

    text = " ".join((ROOT / "WORKSHOP.md").read_text(encoding="utf-8").split())
    stated = {number: (int(a), int(b)) for number, a, b in re.findall(r"\b(0\d): (\d+) of (\d+)", text)}
    assert len(stated) == 8, stated  # 01-08
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        if path.name[:2] in stated:
            assert stated[path.name[:2]] == (len(tooling_cells(notebook)), len(notebook.cells)), path.name
