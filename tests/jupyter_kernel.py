"""A real Jupyter kernel for the tests, run a cell at a time (test_rerun, test_notebook_options),
and the notebooks' code cells it runs (also read by test_inline_copies).

jupyter_client starts the same ipykernel JupyterLab uses, in ``notebooks/``, with
``CARTPOLE_DQN_SMOKE=1`` and ``TMPDIR`` in a folder of the test's (smoke runs save their weights
into temporary folders). Every wait has a timeout, so a hanging kernel fails the test instead of
blocking CI.
"""

from __future__ import annotations

import os
import queue
import re
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
START_TIMEOUT = 120  # seconds for the kernel to start
CELL_TIMEOUT = 120  # seconds for any one cell
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def code_cells(name: str) -> list[str]:
    """The sources of a notebook's code cells, in order."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def index_of(sources: list[str], needle: str) -> int:
    """The position of the one code cell whose source contains ``needle``."""
    found = [i for i, source in enumerate(sources) if needle in source]
    assert len(found) == 1, f"expected one code cell containing {needle!r}, found {len(found)}"
    return found[0]


@dataclass
class CellRun:
    """What one executed cell gave: the reply's status and its text output."""

    source: str
    status: str = "running"  # then the execute_reply's status: "ok", "error" or "aborted"
    stdout: str = ""
    text: str = ""  # stdout and stderr, then the text/plain of results and displays
    error: str = ""  # "ename: evalue" and the traceback, without colour codes
    seconds: float = 0.0

    def describe(self) -> str:
        return f"--- cell ---\n{self.source}\n--- output ---\n{self.text}\n--- error ---\n{self.error}"


class Kernel:
    """One ipykernel, started with the smoke switch, running code cells one at a time."""

    def __init__(self, tmp_path: Path, **environment: str) -> None:
        env = {**os.environ, "CARTPOLE_DQN_SMOKE": "1", "TMPDIR": str(tmp_path), **environment}
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(NOTEBOOKS), env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=START_TIMEOUT)
        except RuntimeError:
            self.close()
            raise

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    # -- running cells ------------------------------------------------------------------------
    def submit(self, source: str) -> tuple[str, CellRun]:
        msg_id = self.client.execute(source, store_history=True, allow_stdin=False)
        return msg_id, CellRun(source)

    def wait(self, msg_id: str, run: CellRun, timeout: float = CELL_TIMEOUT, until=None) -> CellRun:
        """Collect the cell's output until it finishes (or, with ``until``, until ``until(run)`` is true)."""
        deadline = time.monotonic() + timeout
        started = time.perf_counter() - run.seconds
        while run.status == "running":
            if until is not None and until(run):
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no answer from the kernel within {timeout} s\n{run.describe()}")
            try:
                msg = self.client.get_iopub_msg(timeout=min(remaining, 1.0))
            except queue.Empty:
                if not self.manager.is_alive():
                    pytest.fail(f"the kernel died\n{run.describe()}")
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                run.text += content["text"]
                if content["name"] == "stdout":
                    run.stdout += content["text"]
            elif kind in ("execute_result", "display_data"):
                run.text += content["data"].get("text/plain", "") + "\n"
            elif kind == "error":
                run.error = ANSI.sub("", f"{content['ename']}: {content['evalue']}\n" + "\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                run.status = self._reply_status(msg_id, deadline)
        run.seconds = time.perf_counter() - started
        return run

    def _reply_status(self, msg_id: str, deadline: float) -> str:
        while True:
            try:
                reply = self.client.get_shell_msg(timeout=max(deadline - time.monotonic(), 1.0))
            except queue.Empty:
                pytest.fail("the kernel went idle but sent no execute_reply")
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]["status"]

    def run(self, source: str, timeout: float = CELL_TIMEOUT) -> CellRun:
        return self.wait(*self.submit(source), timeout=timeout)

    def run_ok(self, source: str, where: str = "") -> CellRun:
        """Run a cell and fail the test, showing the traceback, unless it succeeds."""
        run = self.run(source)
        if run.status != "ok":
            pytest.fail(f"{where}: cell ended with status {run.status!r}\n{run.describe()}")
        return run

    def run_all(self, sources: list[str], where: str) -> list[CellRun]:
        """Run cells in order, like "Run All"; stop at the first cell that fails."""
        return [
            self.run_ok(source, f"{where}, code cell {i + 1} of {len(sources)}") for i, source in enumerate(sources)
        ]
