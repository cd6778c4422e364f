"""The notebooks' visible switches work too, not only their defaults (smoke budgets, real kernels)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from cartpole_dqn.weights import SHIPPED_WEIGHTS, weight_files

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def run_with(name: str, replace: tuple[str, str], env: dict[str, str]) -> list[str]:
    """Run a notebook with one line of its setup cell changed; return the text it printed."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    setup = next(cell for cell in notebook.cells if cell.cell_type == "code" and replace[0] in cell.source)
    setup.source = setup.source.replace(*replace)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        NotebookClient(
            notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
        ).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return [
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    ]


def test_notebook_03_fixed_budget_runs_the_tutorials_settings(tmp_path):
    printed = "".join(
        run_with(
            "03_training.ipynb",
            ("FIXED_BUDGET = False", "FIXED_BUDGET = True"),
            {"CARTPOLE_DQN_SMOKE": "1", "TMPDIR": str(tmp_path)},
        )
    )
    assert "Finished after 300 steps" in printed and "Trained 300 steps" in printed
    assert "Solved after" not in printed  # a fixed budget never stops early
    assert "same scores as dqn.test: True" in printed


def test_notebook_04_without_own_weights_falls_back_to_the_shipped_agent(tmp_path):
    weights_dir = tmp_path / "weights"
    weights_dir.mkdir()
    for file in weight_files(SHIPPED_WEIGHTS) + [SHIPPED_WEIGHTS.with_suffix(".json")]:
        shutil.copy(file, weights_dir / file.name)
    printed = "".join(
        run_with(
            "04_save_and_reload.ipynb",
            ("USE_MY_WEIGHTS = False", "USE_MY_WEIGHTS = True"),
            {"CARTPOLE_DQN_SMOKE": "1", "CARTPOLE_DQN_WEIGHTS_DIR": str(weights_dir), "TMPDIR": str(tmp_path)},
        )
    )
    assert "You have no weights of your own" in printed
    assert "starting from: weights/dqn_pretrained.h5f" in printed
    assert "Q-values identical: True" in printed
    assert sorted(p.name for p in weights_dir.iterdir()) == sorted(  # nothing written into weights/
        f.name for f in weight_files(SHIPPED_WEIGHTS) + [SHIPPED_WEIGHTS.with_suffix(".json")]
    )
