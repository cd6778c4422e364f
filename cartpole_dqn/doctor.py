"""The setup doctor: can the lessons run here? ``cartpole_dqn.check_setup()`` or ``python -m cartpole_dqn doctor``.

One row per check, and a fix under each failure. A version outside the ranges pyproject.toml
declares (read from the installed distribution's requirements, or from pyproject.toml when the
package is not installed; compared with ``packaging``) is a failure whose fix is the pip command.
No heavy library is imported at the top, and every check catches its own errors: with TensorFlow,
keras-rl2, Gymnasium or packaging missing or broken, the doctor still runs and reports.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import platform
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from . import settings
from .checkpoints import file_sha256
from .console import say
from .errors import DISTRIBUTIONS

try:  # a declared dependency; without it the doctor still runs and says it is missing
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
except ImportError:
    Requirement = SpecifierSet = None

__all__ = ["Check", "SetupReport", "check_setup", "print_report", "format_report", "restart_advice", "declared"]

SHIPPED_NAME = "dqn_pretrained.h5f"
FRAME_SHAPE = (400, 600, 3)
_MODULES = {distribution: module for module, distribution in DISTRIBUTIONS.items()}  # pip name -> import name


@dataclass(frozen=True)
class Check:
    """One row of the report: what was checked, whether it passed, what was seen, and how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


class SetupReport(list):
    """The list of :class:`Check` that :func:`check_setup` returns; ``report.ok`` is True when all passed."""

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self)

    def __repr__(self) -> str:
        failed = [check.name for check in self if not check.ok]
        if not failed:
            return f"<setup report: all {len(self)} checks passed>"
        return f"<setup report: {len(failed)} of {len(self)} checks failed: {', '.join(failed)}>"


def restart_advice() -> str:
    """How to start a fresh Python here: Colab's menu, Jupyter's menu, or a new process."""
    if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:
        return "Restart the session (Runtime > Restart session)"
    if "ipykernel" in sys.modules:
        return "Restart the kernel (Kernel > Restart Kernel)"
    return "Start a new Python process"


def pip_fix(*requirements: str) -> str:
    """The one way a fix is written: the exact pip command for this Python."""
    python = f'"{sys.executable}"' if " " in sys.executable else sys.executable or "python"
    quoted = " ".join(r if r.startswith("--") else f'"{r}"' for r in requirements)
    restart = f", then {restart_advice()[0].lower()}{restart_advice()[1:]}" if "ipykernel" in sys.modules else ""
    return f"Run `{python} -m pip install {quoted}`{restart}."


def declared() -> tuple[str, list[str]]:
    """``(requires-python, [requirement, ...])`` as pyproject.toml declares them (installed metadata first)."""
    try:
        distribution = metadata.distribution("cartpole-dqn")
        return distribution.metadata["Requires-Python"] or "", list(distribution.requires or [])
    except metadata.PackageNotFoundError:
        import tomllib  # Python 3.11+; on 3.10 the package is always installed by `make setup`

        project = tomllib.loads((settings.PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        return project.get("requires-python", ""), list(project.get("dependencies", []))


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _python(version: str | None = None) -> Check:
    version, wanted = version or platform.python_version(), declared()[0]
    if SpecifierSet is None:
        return Check(
            "Python version", False, f"Python {version}; not compared: packaging is missing", pip_fix("packaging")
        )
    if SpecifierSet(wanted).contains(version, prereleases=True):
        return Check("Python version", True, f"Python {version}")
    fix = f"Install a Python in {wanted} (TensorFlow has no wheels for others) and make the venv with it: "
    fix += "`make setup PYTHON=python3.12` (Windows: `py -3.12 tasks.py setup`)."
    return Check("Python version", False, f"Python {version}, but the series needs Python {wanted}", fix)


def _libraries() -> Check:
    """Every declared library is installed, imports, and has a version in the declared range."""
    found: dict[str, list[str]] = {"missing": [], "outside the declared range": [], "broken": []}
    fixes = []
    for text in declared()[1]:
        requirement = Requirement(text) if Requirement is not None else None
        if requirement and requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        pinned = (str(requirement) if requirement else text).split(";")[0].strip()
        name = requirement.name if requirement else re.match(r"[\w.-]+", pinned).group(0)  # packaging missing
        version, module = _version(name), _MODULES.get(name, name.replace("-", "_"))
        if version is None or not _findable(module):
            kind, seen = "missing", name
        elif requirement and not requirement.specifier.contains(version, prereleases=True):
            kind, seen = "outside the declared range", f"{name} {version} (needs {requirement.specifier})"
        elif problem := _import_problem(module):
            kind, seen = "broken", f"{name} ({problem})"
        else:
            continue
        found[kind].append(seen)
        fixes.append(pinned)
    if Requirement is None:
        found["missing"].append("packaging")
        fixes.append("packaging")
    if not fixes:
        return Check("Libraries installed", True, f"{len(declared()[1])} libraries, each in its declared range")
    detail = "; ".join(f"{kind}: {', '.join(seen)}" for kind, seen in found.items() if seen)
    if Requirement is None:
        detail += "; the doctor needs packaging to compare versions"
    fix = pip_fix(*(["--force-reinstall"] if found["broken"] else []), *fixes)
    if found["broken"]:
        fix += " If one stays broken, look for a folder of that name on PYTHONPATH or in the current folder."
    return Check("Libraries installed", False, detail, fix)


def _findable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _import_problem(module: str) -> str:
    """Why ``module`` does not import ("" when it does); TensorFlow's C++ start-up lines kept quiet."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if module == "tensorflow" and module not in sys.modules:
                from .compat import _import_tensorflow

                _import_tensorflow()
            importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - a broken install: report it
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:100]}"
    return ""


def _keras_2() -> Check:
    """keras-rl2 needs Keras 2: tf-keras of TensorFlow's minor version, loaded as ``tensorflow.keras``."""
    from . import compat

    name, tf_version, tf_keras_version = "Keras 2 (tf-keras)", _version("tensorflow"), _version("tf-keras")
    minor = ".".join((tf_version or "").split(".")[:2])
    if tf_version and tf_keras_version and minor != ".".join(tf_keras_version.split(".")[:2]):
        detail = f"tensorflow {tf_version} with tf-keras {tf_keras_version}: their minor versions differ"
        return Check(name, False, detail, pip_fix(f"tf-keras~={minor}.0"))
    if "tensorflow" not in sys.modules:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"  # what `import cartpole_dqn` does before TensorFlow loads
        compat._import_tensorflow()
    if compat.keras_3_in_use():
        fix = f"{restart_advice()} and run `import cartpole_dqn` before anything imports tensorflow or keras."
        return Check(name, False, "TensorFlow is using Keras 3, which keras-rl2 cannot use", fix)
    return Check(name, True, f"tensorflow {tf_version} with tf-keras {tf_keras_version}")


def _cartpole(env_id: str) -> Check:
    """The environment resets and steps with Gymnasium's API and draws a frame (the GIFs of the lessons)."""
    import gymnasium as gym

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make(env_id, render_mode="rgb_array")
        try:
            reset = env.reset(seed=0)
            step = env.step(env.action_space.sample())
            frame = env.render()
        finally:
            env.close()
    problem = (
        "reset() and step() do not follow Gymnasium's API"
        if not (isinstance(reset, tuple) and len(reset) == 2 and isinstance(step, tuple) and len(step) == 5)
        else f"render() gave no {FRAME_SHAPE} frame"
        if getattr(frame, "shape", None) != FRAME_SHAPE
        else ""
    )
    if problem:
        return Check(f"{env_id} runs and draws", False, problem, pip_fix("gymnasium[classic-control]"))
    return Check(f"{env_id} runs and draws", True, f"gymnasium {gym.__version__}, frames of 600x400 pixels")


def _writable(folder: Path) -> Check:
    """Training saves into the weights folder (or can create it)."""
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
        return Check("weights folder writable", True, f"can write in {folder}")
    fix = f"Make {existing} writable, or set CARTPOLE_DQN_WEIGHTS_DIR to a folder you can write to."
    return Check("weights folder writable", False, f"cannot write in {folder}", fix)


def _shipped(path: Path) -> Check:
    """The shipped agent (lessons 05 and 06 load it) is there and matches the SHA-256 in its record."""
    name = "Shipped pre-trained weights"
    if path.parent.resolve() == (settings.PROJECT_ROOT / "weights").resolve():
        fix = "Restore them with `git checkout weights/` in the project folder."
    else:
        fix = f"Copy the project's weights/ folder to {path.parent}, or unset CARTPOLE_DQN_WEIGHTS_DIR."
    record = path.with_suffix(".json")
    index = path.with_name(path.name + ".index")
    if absent := [file.name for file in (index, record) if not file.is_file()]:
        return Check(name, False, f"missing in {path.parent}: {', '.join(absent)}", fix)
    try:
        recorded = json.loads(record.read_text(encoding="utf-8"))["sha256"]
        assert isinstance(recorded, dict) and index.name in recorded
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        return Check(name, False, f"{record.name} is damaged (not the record with checksums)", fix)
    for file_name, digest in recorded.items():
        file = path.parent / file_name
        if not file.is_file() or file_sha256(file) != digest:
            return Check(name, False, f"{file_name} is missing, damaged or changed: its SHA-256 does not match", fix)
    return Check(name, True, f"{path.name}: {len(recorded)} files, checksums match")


def _run(name: str, check: Callable[[], Check]) -> Check:
    """Run one check; whatever goes wrong inside becomes a failed row, never an exception."""
    try:
        return check()
    except ModuleNotFoundError as exc:
        distribution = DISTRIBUTIONS.get((exc.name or "").split(".")[0], exc.name or "?")
        return Check(name, False, f"cannot check: {distribution} is not installed", pip_fix(distribution))
    except Exception as exc:  # noqa: BLE001 - the doctor must report, not crash
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        return Check(name, False, f"the check itself failed: {type(exc).__name__}: {text}", "Fix the rows above first.")


def check_setup(
    verbose: bool = True, *, brief: bool = False, weights_dir: str | os.PathLike | None = None, env_id="CartPole-v0"
) -> SetupReport:
    """Check Python, the libraries and their ranges, Keras 2, CartPole, the weights folder and the shipped agent.

    Prints the table when ``verbose``; with ``brief=True`` a passing setup is one line and only a
    failing one gets the table. ``weights_dir`` defaults to ``settings.WEIGHTS_DIR``.
    """
    if "tensorflow" not in sys.modules:  # as `import cartpole_dqn` would, had it got that far
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    folder = Path(weights_dir) if weights_dir is not None else settings.WEIGHTS_DIR
    checks = SetupReport(
        [
            _run("Python version", _python),
            _run("Libraries installed", _libraries),
            _run("Keras 2 (tf-keras)", _keras_2),
            _run(f"{env_id} runs and draws", lambda: _cartpole(env_id)),
            _run("weights folder writable", lambda: _writable(folder)),
            _run("Shipped pre-trained weights", lambda: _shipped(folder / SHIPPED_NAME)),
        ]
    )
    if brief and checks.ok:
        say(f"Setup check: all {len(checks)} checks passed (details: python -m cartpole_dqn doctor).")
    elif verbose or brief:
        print_report(checks)
    return checks


def format_report(checks: list[Check]) -> str:
    """The report as plain text: one row per check, a ``fix:`` line under each failure, a verdict."""
    width = max(len(check.name) for check in checks)
    lines = []
    for check in checks:
        lines.append(f"{'ok' if check.ok else 'FAIL':<4}  {check.name:<{width}}  {check.detail}")
        lines += [] if check.ok else [f"{'':4}  {'':<{width}}  fix: {check.fix}"]
    failed = sum(not check.ok for check in checks)
    lines.append("")
    if failed:
        lines.append(f"{failed} of {len(checks)} checks failed: apply the fixes above, then run the check again.")
    else:
        lines.append(f"All {len(checks)} checks passed: this setup is ready.")
    return "\n".join(lines)


TESTED = ["tensorflow", "tf-keras", "keras-rl2", "gymnasium", "numpy", "keras"]


def tested_versions(requirements: Path | None = None) -> dict[str, str]:
    """The lock's versions of the main packages for this Python (requirements.txt's ``==`` pins, markers applied)."""
    path = requirements or settings.PROJECT_ROOT / "requirements.txt"
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "==" not in line or line.startswith("#") or Requirement is None:
            continue
        requirement = Requirement(line)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if name in TESTED and (requirement.marker is None or requirement.marker.evaluate()):
            found[name] = str(requirement.specifier).lstrip("=")
    return {name: found[name] for name in TESTED if name in found}


def versions_note(project: Path | None = None) -> str:
    """Two lines: the versions the series is tested with, and those the canary (``make canary``) last ran."""
    project = project or settings.PROJECT_ROOT
    try:
        tested = ", ".join(
            f"{name} {version}" for name, version in tested_versions(project / "requirements.txt").items()
        )
        lines = [f"Tested versions (requirements.txt): {tested}."]
    except (OSError, ValueError):
        lines = ["Tested versions: requirements.txt of the project (not found here)."]
    try:
        canary = json.loads((project / "docs" / "canary.json").read_text(encoding="utf-8"))
        outcome = "; ".join(f"{label} {result}" for label, result in canary["results"].items())
        lines.append(f"Canary (newest releases, make canary, {canary['date']}): {canary['versions']}; {outcome}.")
    except (OSError, ValueError, KeyError, TypeError):
        lines.append("Canary (newest releases): not recorded here; `make canary` runs it.")
    return "\n".join(lines)


def print_report(checks: list[Check]) -> None:
    """Print :func:`versions_note`, then :func:`format_report` (its verdict last), through the package's console writer."""
    say(versions_note() + "\n\n" + format_report(checks))
