"""The notebooks' visible switches work too, not only their defaults (smoke budgets, a real kernel).

The kernel is the one the re-run tests use (``notebook_kernel`` in conftest.py): its weights folder
(``CARTPOLE_DQN_WEIGHTS_DIR``) holds a copy of the shipped agent and nothing else.
"""

from __future__ import annotations

from cartpole_dqn.weights import SHIPPED_METADATA, SHIPPED_WEIGHTS, weight_files

from jupyter_kernel import Kernel, code_cells


def run_with(kernel: Kernel, name: str, replace: tuple[str, str]) -> str:
    """Run a notebook with one line of its setup cell changed; return the text it printed."""
    sources = code_cells(name)
    (setup,) = [i for i, source in enumerate(sources) if replace[0] in source]
    sources[setup] = sources[setup].replace(*replace)
    runs = kernel.run_all(sources, f"{name} with {replace[1]}")
    return "".join(run.text for run in runs)


def test_notebook_03_fixed_budget_runs_the_tutorials_settings(notebook_kernel):
    printed = run_with(notebook_kernel, "03_training.ipynb", ("FIXED_BUDGET = False", "FIXED_BUDGET = True"))
    assert "Finished after 300 steps" in printed and "Trained 300 steps" in printed
    assert "Solved after" not in printed  # a fixed budget never stops early
    assert "same scores as dqn.test: True" in printed


def test_notebook_04_without_own_weights_falls_back_to_the_shipped_agent(notebook_kernel):
    weights_dir = notebook_kernel.weights_dir
    shipped = sorted(f.name for f in [*weight_files(SHIPPED_WEIGHTS), SHIPPED_METADATA])
    assert sorted(p.name for p in weights_dir.iterdir()) == shipped
    printed = run_with(notebook_kernel, "04_save_and_reload.ipynb", ("USE_MY_WEIGHTS = False", "USE_MY_WEIGHTS = True"))
    assert "You have no weights of your own" in printed
    assert "starting from: weights/dqn_pretrained.h5f" in printed
    assert "Q-values identical: True" in printed
    assert sorted(p.name for p in weights_dir.iterdir()) == shipped  # nothing written into the weights folder
