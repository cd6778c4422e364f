"""scripts/fixed_budget.py measures notebook 03's exercise 4, and the exercise quotes its figures."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from cli_helpers import load_script

ROOT = Path(__file__).resolve().parent.parent


def test_a_short_fixed_budget_run_writes_its_figures(tmp_path, capsys):
    out = tmp_path / "fixed_budget.json"
    assert (
        load_script("scripts/fixed_budget.py").main(["--steps", "300", "--eval-every", "100", "--out", str(out)]) == 0
    )
    record = json.loads(out.read_text())
    assert record["steps"] == 300 and [step for step, _ in record["evaluations"]] == [100, 200, 300]
    assert 0 < record["final_test_mean"] <= 200
    assert "300 steps in" in capsys.readouterr().out


def test_exercise_4_quotes_the_committed_measurement():
    record = json.loads((ROOT / "notebooks" / "data" / "fixed_budget.json").read_text())
    notebook = nbformat.read(ROOT / "notebooks" / "03_training.ipynb", as_version=4)
    solution = next(cell.source for cell in notebook.cells if cell.source.startswith("**4. The tutorial exactly.**"))
    (step_a, mean_a), (step_b, mean_b) = record["lowest_after_solved"]
    for figure in (
        f"{record['solved_at_step']:,} steps",
        f"{record['final_test_mean']:.1f}",
        f"of the {record['checks_after_solved']} checks",
        f"below 195 at {record['checks_below_195_after_solved']}",
        f"{mean_a:.1f} at step {step_a:,}",
        f"{mean_b:.1f} at step {step_b:,}",
    ):
        assert figure in solution, figure
