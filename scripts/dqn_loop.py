"""Notebook 07's DQN loop for the benchmark and the tests: the code of its cells, run as written.

``load()`` runs the cells of ``notebooks/07_dqn_written_out.ipynb`` tagged ``loop`` (the setup,
the settings, the memory, Boltzmann, the networks, ``train_step`` and ``run_dqn``), and with
``proof=True`` also those tagged ``proof`` (keras-rl2's recorded run and the replay functions), in
a fresh namespace, and returns it. So ``make bench`` times, and the tests check, the very code the
notebook shows: there is no second copy of the loop to drift apart from it.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "07_dqn_written_out.ipynb"


def load(proof: bool = False, notebook: Path = NOTEBOOK) -> dict:
    """The namespace of notebook 07's ``loop`` cells (and ``proof`` cells), executed in order."""
    tags = {"loop", "proof"} if proof else {"loop"}
    cells = [c for c in nbformat.read(notebook, as_version=4).cells if tags & set(c.metadata.get("tags", []))]
    if not cells:
        raise SystemExit(f"error: {notebook} has no cells tagged {' or '.join(sorted(tags))}; is it notebook 07?")
    namespace: dict = {"__name__": "dqn_loop_from_notebook"}
    for number, cell in enumerate(cells):
        exec(
            compile(cell.source, f"{notebook.name} [{' '.join(cell.metadata['tags'])} cell {number}]", "exec"),
            namespace,
        )
    return namespace
