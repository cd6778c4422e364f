"""Run the notebooks top to bottom in fresh kernels and save them with their outputs (``make run``).

Each notebook runs in a new kernel with full budgets (the smoke switch is turned off),
from the ``notebooks/`` folder, exactly as a learner's "Restart Kernel and Run All Cells".
The executed copy replaces the notebook, so the committed notebooks carry a real run's
outputs, with the machine's paths scrubbed (project folder relative, temp folder ``<temp>``). The cells tagged ``headline`` are printed as each notebook's result.
Each notebook's seconds and size go to ``docs/run-times.md`` (its row is replaced, the other rows stay),
so run times are written down in one place, by the run that measured them.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
MAX_SIZE = 3_000_000
RUN_TIMES = NOTEBOOKS.parent / "docs" / "run-times.md"
RUN_TIMES_HEADER = """# Run times of the notebooks

Written by `make run` (`scripts/run_notebooks.py`), not by hand: one row per notebook, from the
latest full-budget run of that notebook in a fresh kernel (`make run` runs them all; naming one
notebook replaces only its row). Seconds depend on the machine and on what else it was doing; the
notebook headers give a range that holds on a 2-core laptop.

| notebook | seconds | size | date | machine cores |
|---|---:|---:|---|---:|
"""


def headline(notebook) -> str:
    lines = []
    for cell in notebook.cells:
        if "headline" in cell.get("metadata", {}).get("tags", []):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream":
                    lines.append(output["text"].strip())
    return " | ".join(lines) or "(no headline cell)"


def scrub_machine_paths(notebook) -> int:
    """Show no path of the machine that ran it: the project folder becomes relative, the temp folder ``<temp>``.

    Only the committed copy is scrubbed; a learner running the notebook sees the real paths. Returns
    how many outputs changed.
    """
    replacements = [
        (str(NOTEBOOKS.parent) + os.sep, ""),
        (str(Path(tempfile.gettempdir()).resolve()) + os.sep, "<temp>" + os.sep),
        (tempfile.gettempdir() + os.sep, "<temp>" + os.sep),
    ]

    def scrub(text: str) -> str:
        for old, new in replacements:
            text = text.replace(old, new)
        return text

    changed = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            fields = [("text", output)] if "text" in output else []
            fields += [(kind, output["data"]) for kind in output.get("data", {}) if kind.startswith("text/")]
            for key, holder in fields:
                value = holder[key]
                new = [scrub(part) for part in value] if isinstance(value, list) else scrub(value)
                if new != value:
                    holder[key] = new
                    changed += 1
    return changed


def run(path: Path, timeout: int) -> tuple[float, str]:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # not its start-up notice about TCP
    )
    started = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - started
    scrub_machine_paths(notebook)
    nbformat.write(notebook, path)
    return seconds, headline(notebook)


def read_run_times(path: Path = RUN_TIMES) -> dict[str, str]:
    """The table rows of ``docs/run-times.md``, by notebook name (empty if there is no file yet)."""
    if not path.exists():
        return {}
    rows = [
        line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("| ") and ".ipynb" in line
    ]
    return {row.split("|")[1].strip(): row for row in rows}


def write_run_times(results: dict[str, tuple[float, int]], path: Path = RUN_TIMES, day: str | None = None) -> None:
    """Put each ``notebook name -> (seconds, bytes)`` of this run into the table, keeping the other notebooks' rows."""
    rows = read_run_times(path)
    day = day or datetime.date.today().isoformat()
    for name, (seconds, size) in results.items():
        rows[name] = f"| {name} | {seconds:.0f} | {size / 1e6:.2f} MB | {day} | {os.cpu_count()} |"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RUN_TIMES_HEADER + "".join(rows[name] + "\n" for name in sorted(rows)), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all in notebooks/)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a single cell may take (default 1800)")
    args = parser.parse_args(argv)
    os.environ.pop("CARTPOLE_DQN_SMOKE", None)  # full budgets: the kernels inherit this environment
    paths = args.notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    total = time.perf_counter()
    failed = False
    measured = {}
    for path in paths:
        print(f"running {path.name} ...", flush=True)
        try:
            seconds, result = run(path, args.timeout)
        except CellExecutionError as error:
            print(f"  FAILED: {str(error).strip().splitlines()[-1]}", file=sys.stderr)
            failed = True
            continue
        size = path.stat().st_size
        measured[path.name] = (seconds, size)
        warning = "  (over 3 MB: shrink its outputs)" if size > MAX_SIZE else ""
        print(f"  {seconds:6.1f} s, {size / 1e6:.2f} MB{warning}\n  result: {result}", flush=True)
    if measured:
        write_run_times(measured, RUN_TIMES)
        print(f"run times written to {RUN_TIMES.relative_to(NOTEBOOKS.parent)}")
    print(f"all notebooks: {time.perf_counter() - total:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
