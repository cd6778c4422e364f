"""The project's verbs, in one place: ``python tasks.py VERB [ARGS...]`` (the Makefile calls this file).

    setup           create .venv and install the tested stack (uv if on PATH, wheelhouse/ if present)
    run             set up if needed, run every notebook with full budgets, print each result
    test            set up if needed, the unit tests, then the notebooks (smoke budgets)
    unit            the unit tests only
    notebooks       the notebooks only, smoke budgets (nbval)
    lab             set up if needed, open JupyterLab on notebooks/
    doctor          check this machine's setup
    lint            ruff check and format check (.py and .ipynb)
    format          ruff fix and format
    bench           train from 10 seeds, time to solve vs the tutorial's recipe
                    (bench --peer sb3, with SB3_PYTHON=...: Stable-Baselines3 beside it, seed by seed)
    bench-variants  every keras-rl2 agent/option, 10 seeds (bench-variants --seeds 3 for fewer)
    pretrained      re-train the shipped agent in weights/ (replaced only if it scores >= 195)
    wheelhouse      download every wheel for Windows/macOS arm64/Linux, Python 3.11-3.13, into wheelhouse/
    colab-profile   the Colab setup cell, the notebooks and the doctor on Colab's versions (--python X)
    canary          the unit tests and the notebooks on the newest releases (TensorFlow rc included), in
                    .venv-canary: one line per failure and the package that caused it (not part of test)
    clean           delete .venv and caches
    help            this list

Options before the verb: ``--requirements FILE`` (requirements-learner.txt: the lock without the
test tools), ``--uv PATH`` (empty: use pip), ``--wheelhouse DIR``, ``--dry-run`` (print the
commands). Arguments after the verb go to its script. The Python that runs this file is the one
the venv is made from (Windows: ``py -3.12 tasks.py setup``). Every verb sets up first when
.venv is missing or older than the requirements or pyproject.toml. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"


def venv_python(venv: Path) -> Path:
    """The venv's interpreter: Scripts\\python.exe on Windows, bin/python elsewhere."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def is_set_up(venv: Path, requirements: Path) -> bool:
    """True when the venv exists and its stamp is newer than the requirements and pyproject.toml."""
    stamp = venv / ".installed"
    if not (stamp.is_file() and venv_python(venv).exists()):
        return False
    return all(stamp.stat().st_mtime >= path.stat().st_mtime for path in (requirements, ROOT / "pyproject.toml"))


def supported_pythons() -> tuple[tuple[int, int], tuple[int, int]]:
    """The lowest and highest supported Python, from pyproject.toml's ``requires-python = ">=3.10,<3.14"``."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pattern = r'requires-python = ">=(\d+)\.(\d+),<(\d+)\.(\d+)"'
    low_major, low, high_major, high = (int(n) for n in re.search(pattern, text).groups())
    return (low_major, low), (high_major, high - 1)


def check_python(version_info: tuple[int, ...] = tuple(sys.version_info)) -> str | None:
    """A one-sentence error when this Python cannot run the stack, else None."""
    (low_major, low), (high_major, high) = supported_pythons()
    if (low_major, low) <= tuple(version_info[:2]) <= (high_major, high):
        return None
    found = ".".join(str(n) for n in version_info[:2])
    return (
        f"Python {found} runs this file, but the series needs Python {low_major}.{low} to {high_major}.{high} "
        "(TensorFlow has no wheels for others): run `make setup PYTHON=python3.12`, or on Windows "
        "`py -3.12 tasks.py setup`."
    )


def setup_commands(python: str, venv: Path, requirements: str, uv: str | None, wheelhouse: Path) -> list[list[str]]:
    """The commands that create the venv and install the requirements (uv when given, wheelhouse/ when it has wheels)."""
    commands = [] if venv_python(venv).exists() else [[python, "-m", "venv", str(venv)]]
    target = str(venv_python(venv))
    offline = ["--no-index", "--find-links", str(wheelhouse)] if any(wheelhouse.glob("*.whl")) else []
    if uv:
        return [*commands, [uv, "pip", "install", "--quiet", "--python", target, *offline, "-r", requirements]]
    return [
        *commands,
        [target, "-m", "pip", "install", "--quiet", *offline, "--upgrade", "pip"],
        [target, "-m", "pip", "install", "--quiet", *offline, "-r", requirements],
    ]


def verb_commands(
    verb: str, python: str, extra: list[str], wheelhouse: str = "wheelhouse"
) -> list[tuple[list[str], dict[str, str]]]:
    """The commands a verb runs once set up, each with the extra environment it needs."""
    smoke = {"CARTPOLE_DQN_SMOKE": "1"}
    unit = [([python, "-m", "pytest", "-p", "no:nbval", "-n", "2", "--dist", "worksteal", "tests", *extra], {})]
    notebooks = [([python, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "notebooks", *extra], smoke)]
    script = {
        "run": "run_notebooks.py",
        "bench": "bench_solve.py",
        "bench-variants": "bench_variants.py",
        "pretrained": "make_pretrained.py",
        "colab-profile": "colab_profile.py",
    }
    if verb in script:
        return [([python, f"scripts/{script[verb]}", *extra], {})]
    return {
        "setup": [],
        "unit": unit,
        "notebooks": notebooks,
        "test": unit + notebooks,
        "lab": [([python, "-m", "jupyter", "lab", "notebooks/", *extra], {})],
        "doctor": [([python, "-m", "cartpole_dqn", "doctor", *extra], {})],
        "lint": [([python, "-m", "ruff", "check", "."], {}), ([python, "-m", "ruff", "format", "--check", "."], {})],
        "format": [([python, "-m", "ruff", "check", "--fix", "."], {}), ([python, "-m", "ruff", "format", "."], {})],
        "wheelhouse": [([python, "scripts/wheelhouse.py", "--dest", wheelhouse, *extra], {})],
    }[verb]


VERBS = ["setup", "run", "test", "unit", "notebooks", "lab", "doctor", "lint", "format", "bench", "bench-variants"]
VERBS += ["pretrained", "wheelhouse", "colab-profile", "canary", "clean", "help"]


def _run(command: list[str], extra: dict[str, str], dry_run: bool) -> int:
    shown = " ".join(f"{key}={value}" for key, value in extra.items())
    print("+", (shown + " " if shown else "") + subprocess.list2cmdline(command), flush=True)
    if dry_run:
        return 0
    env = dict(os.environ, **extra)
    jupyter = str(VENV / "share" / "jupyter")  # Jupyter finds this venv's kernel before any other "python3"
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [jupyter, os.environ.get("JUPYTER_PATH")]))
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def _setup(args: argparse.Namespace) -> int:
    requirements = ROOT / args.requirements
    if is_set_up(VENV, requirements):
        return 0
    problem = check_python()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    uv = shutil.which("uv") if args.uv is None else args.uv
    wheelhouse = ROOT / args.wheelhouse
    if any(wheelhouse.glob("*.whl")):
        print(f"Installing from {args.wheelhouse}/ with no network (delete that folder to use the network).")
    for command in setup_commands(sys.executable, VENV, args.requirements, uv or None, wheelhouse):
        code = _run(command, {}, args.dry_run)
        if code:
            print(f"error: setup failed (exit code {code}); the messages above say why.", file=sys.stderr)
            return code
    if not args.dry_run:
        (VENV / ".installed").touch()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The project's verbs (the Makefile calls this file).")
    parser.add_argument("--requirements", default="requirements.txt", help="the lock to install (default: %(default)s)")
    parser.add_argument("--uv", default=None, help="uv to install with (default: uv on PATH; empty: pip)")
    parser.add_argument("--wheelhouse", default="wheelhouse", help="install offline from its wheels when it has any")
    parser.add_argument("--dry-run", action="store_true", help="print the commands instead of running them")
    parser.add_argument("verb", choices=VERBS, metavar="VERB", help="one of: " + ", ".join(VERBS))
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="arguments for the verb's script")
    args = parser.parse_args(argv)
    if args.verb == "help":
        print(__doc__.split("\n\n", 1)[1].rstrip())
        return 0
    if args.verb == "clean":
        for path in (VENV, ROOT / ".pytest_cache", ROOT / ".ruff_cache"):
            print("+ remove", path.name)
            if not args.dry_run:
                path.unlink() if path.is_symlink() else shutil.rmtree(path, ignore_errors=True)
        return 0
    if args.verb == "canary":  # its own venv, made from the Python that runs this file; .venv is not needed
        return _run([sys.executable, "scripts/canary.py", *args.extra], {}, args.dry_run)
    code = _setup(args)
    python = str(venv_python(VENV))
    if not code and args.verb == "wheelhouse" and not shutil.which("uv"):  # it resolves each platform's extras
        code = _run([python, "-m", "pip", "install", "--quiet", "uv"], {}, args.dry_run)
    for command, extra in [] if code else verb_commands(args.verb, python, args.extra, args.wheelhouse):
        code = _run(command, extra, args.dry_run)
        if code:
            break
    return code


if __name__ == "__main__":
    sys.exit(main())
