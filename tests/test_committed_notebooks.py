"""The committed notebooks show the story, not the machine that ran them (``make run`` scrubs the paths)."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MACHINE_PATHS = ("/tmp/", "/home/", "/Users/", "/root/", "/work/", str(ROOT) + os.sep, tempfile.gettempdir() + os.sep)


def load_runner():
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
