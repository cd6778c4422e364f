"""Peak memory of a Jupyter kernel running each notebook with full budgets (for Binder's 1-2 GB limit).

Each notebook runs in a fresh kernel, as ``make run`` does (nothing is saved), with one extra
cell at the end that reads the kernel's peak resident memory (``VmHWM`` in ``/proc/self/status``,
Linux only). Prints one line per notebook and the sum, which is what a learner who keeps all four
notebooks open at once would use::

    python scripts/kernel_memory.py            # all notebooks in notebooks/
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PROBE = "print('VmHWM', [line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')][0])"


def peak_kib(path: Path, timeout: int = 1800) -> tuple[int, float]:
    """(peak resident KiB of the kernel that ran the notebook, seconds)."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    started = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - started
    text = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    return int(text.split()[1]), seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    os.environ.pop("CARTPOLE_DQN_SMOKE", None)  # full budgets
    total = 0
    for path in args.notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        kib, seconds = peak_kib(path)
        total += kib
        print(f"{path.name:28} peak kernel RSS {kib / 1024:6.0f} MiB  ({seconds:.0f} s)", flush=True)
    print(f"{'all four kernels at once':28} {total / 1024:6.0f} MiB (Python {sys.version.split()[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
