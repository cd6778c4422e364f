"""``python -m cartpole_dqn`` for the tests: run in a real process, and its one-line errors; the project's
scripts loaded as modules (:func:`load_script`).

A real process gets ``CARTPOLE_DQN_WEIGHTS_DIR`` in its own folder, so it never touches the
repository's ``weights/``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cli_environment(folder: Path, **extra: str) -> dict[str, str]:
    """This process's environment, with the weights folder moved to ``folder/weights`` and ``extra`` added."""
    return {**os.environ, "CARTPOLE_DQN_WEIGHTS_DIR": str(folder / "weights"), **extra}


def run_module(*args: str, cwd: Path, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m cartpole_dqn *args`` in ``cwd`` (environment: :func:`cli_environment` of ``cwd``)."""
    return subprocess.run(
        [sys.executable, "-m", "cartpole_dqn", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env if env is not None else cli_environment(cwd),
        timeout=300,
        **kwargs,
    )


def one_error_line(stderr: str) -> str:
    """The whole of stderr must be one ``error: ...`` line, without a traceback; return it."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr, stderr
    return lines[0]


def load_script(relative: str):
    """A file of the project (``"tasks.py"``, ``"scripts/canary.py"``) as a fresh module, its ``main`` not run.

    The module is named ``<stem>_under_test`` and not put in ``sys.modules``, so it never replaces a module of
    the same name that the script itself imports (``scripts/canary.py`` imports ``tasks``).
    """
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(f"{path.stem}_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
