"""The Makefile's verbs without make (Windows PowerShell, or any shell): ``python tasks.py VERB``.

    python tasks.py setup    create .venv and install the tested stack (requirements.txt)
    python tasks.py run      run the four notebooks with full budgets, print each one's result
    python tasks.py lab      open JupyterLab on notebooks/
    python tasks.py test     unit tests, then every notebook under the smoke budget
    python tasks.py doctor   check this machine's setup

The Python that runs this file is the one the venv is made from (on Windows pick it with the
launcher: ``py -3.12 tasks.py setup``). Every verb but ``setup`` sets up first if needed, as make
does; ``--dry-run`` prints the commands instead of running them. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".installed"  # the same stamp as the Makefile's: make and tasks.py share one venv
WHEELHOUSE = ROOT / "wheelhouse"
SUPPORTED = ((3, 10), (3, 13))


def venv_python(venv: Path = VENV) -> Path:
    """The venv's interpreter: Scripts\\python.exe on Windows, bin/python elsewhere."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def is_set_up(venv: Path = VENV) -> bool:
    """True when the venv exists and was installed after the last change to the requirements."""
    stamp = venv / ".installed"
    if not (stamp.is_file() and venv_python(venv).exists()):
        return False
    inputs = [ROOT / "requirements.txt", ROOT / "pyproject.toml"]
    return all(stamp.stat().st_mtime >= path.stat().st_mtime for path in inputs)


def setup_commands(python: str = sys.executable, venv: Path = VENV) -> list[list[str]]:
    """The commands that create the venv and install requirements.txt (with uv when it is on PATH)."""
    commands = [] if venv_python(venv).exists() else [[python, "-m", "venv", str(venv)]]
    target = str(venv_python(venv))
    offline = ["--no-index", "--find-links", str(WHEELHOUSE)] if WHEELHOUSE.is_dir() else []
    uv = shutil.which("uv")
    if uv:
        commands.append([uv, "pip", "install", "--quiet", "--python", target, *offline, "-r", "requirements.txt"])
    else:
        commands.append([target, "-m", "pip", "install", "--quiet", *offline, "--upgrade", "pip"])
        commands.append([target, "-m", "pip", "install", "--quiet", *offline, "-r", "requirements.txt"])
    return commands


def verb_commands(verb: str) -> list[tuple[list[str], dict[str, str]]]:
    """The commands a verb runs after setup, each with the extra environment it needs."""
    python = str(venv_python())
    smoke = {"CARTPOLE_DQN_SMOKE": "1"}
    table = {
        "run": [([python, "scripts/run_notebooks.py"], {})],
        "lab": [([python, "-m", "jupyter", "lab", "notebooks/"], {})],
        "test": [
            ([python, "-m", "pytest", "-p", "no:nbval", "-n", "2", "--dist", "worksteal", "tests"], {}),
            ([python, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "notebooks"], smoke),
        ],
        "doctor": [([python, "-m", "cartpole_dqn", "doctor"], {})],
        "setup": [],
    }
    return table[verb]


def check_python(version_info: tuple[int, ...] = tuple(sys.version_info)) -> str | None:
    """A one-sentence error when this Python cannot run the stack, else None."""
    (low_major, low), (high_major, high) = SUPPORTED
    if (low_major, low) <= tuple(version_info[:2]) <= (high_major, high):
        return None
    found = ".".join(str(n) for n in version_info[:2])
    return (
        f"Python {found} runs this file, but the series needs Python {low_major}.{low} to {high_major}.{high} "
        "(TensorFlow has no wheels for others). On Windows run it with the launcher, e.g. `py -3.12 tasks.py setup`."
    )


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ, **extra)
    jupyter = str(VENV / "share" / "jupyter")  # this venv's kernel first, as the Makefile does
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [jupyter, os.environ.get("JUPYTER_PATH")]))
    return env


def _run(command: list[str], extra: dict[str, str], dry_run: bool) -> int:
    shown = " ".join(f"{key}={value}" for key, value in extra.items())
    print("+", (shown + " " if shown else "") + subprocess.list2cmdline(command), flush=True)
    if dry_run:
        return 0
    return subprocess.run(command, cwd=ROOT, env=_environment(extra)).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="The Makefile's verbs without make.", epilog="Example: python tasks.py setup"
    )
    parser.add_argument("verb", choices=["setup", "run", "lab", "test", "doctor"], help="what to do")
    parser.add_argument("--dry-run", action="store_true", help="print the commands instead of running them")
    args = parser.parse_args(argv)
    if not is_set_up() or args.dry_run:
        problem = check_python()
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        if not is_set_up():
            if WHEELHOUSE.is_dir():
                print(f"Installing from {WHEELHOUSE.name}/ with no network (delete that folder to use the network).")
            for command in setup_commands():
                code = _run(command, {}, args.dry_run)
                if code:
                    print(f"error: setup failed (exit code {code}); the messages above say why.", file=sys.stderr)
                    return code
            if not args.dry_run:
                STAMP.touch()
    for command, extra in verb_commands(args.verb):
        code = _run(command, extra, args.dry_run)
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
