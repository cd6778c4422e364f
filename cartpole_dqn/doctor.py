"""A setup doctor: is this laptop ready for the workshop? (the setup cell of every notebook)

:func:`check_setup` runs a handful of quick checks (well under two seconds, nothing is
trained) and :func:`print_report` shows them as a table, with a fix for every failure::

    import cartpole_dqn
    cartpole_dqn.doctor.check_setup()

From a terminal: ``python -m cartpole_dqn doctor`` (exit code 0 when everything is fine).
Every check catches its own errors: a broken setup gives a failed row, never a traceback.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

from . import compat, settings, weights

__all__ = ["Check", "SetupReport", "check_setup", "print_report", "format_report"]

SUPPORTED_PYTHONS = ((3, 10), (3, 13))
FRAME_SHAPE = (400, 600, 3)
#: Used only to install packages, never by the notebooks: a different version is noted, not failed.
_INSTALL_TOOLS = {"pip", "setuptools", "wheel"}
_REINSTALL = "Run `python -m pip install -r requirements.txt` in the project folder, with the project's venv active."


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, whether it is fine, what was seen, and how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


class SetupReport(list):
    """The list of :class:`Check` that :func:`check_setup` returns, shown in a notebook as one summary line."""

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(check.ok for check in self)

    def __repr__(self) -> str:
        failed = [check.name for check in self if not check.ok]
        if not failed:
            return f"<setup report: all {len(self)} checks passed>"
        return f"<setup report: {len(failed)} of {len(self)} checks failed: {', '.join(failed)}>"


def _python(version_info=None) -> Check:
    major, minor, micro = tuple(version_info or sys.version_info)[:3]
    (low_major, low), (high_major, high) = SUPPORTED_PYTHONS
    ok = (low_major, low) <= (major, minor) <= (high_major, high)
    return Check(
        "Python version",
        ok,
        f"Python {major}.{minor}.{micro}" + ("" if ok else f" (the stack needs {low_major}.{low}–{high_major}.{high})"),
        ""
        if ok
        else "Install Python 3.10, 3.11, 3.12 or 3.13 (TensorFlow 2.21 has no wheels for other versions), "
        "recreate the venv with it, then install requirements.txt.",
    )


def _requirements(path: Path) -> Check:
    name = "Package versions"
    if not path.is_file():
        return Check(
            name,
            False,
            f"requirements.txt not found at {path}",
            "Run this from a complete copy of the project (restore the file with `git checkout requirements.txt`).",
        )
    try:
        from packaging.requirements import InvalidRequirement, Requirement
        from packaging.utils import canonicalize_name
    except ImportError:  # pragma: no cover - packaging comes with the stack
        return Check(name, False, "the 'packaging' library is missing, so the pins cannot be compared", _REINSTALL)
    problems, notes, checked = [], [], 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):  # comments, and options such as -e . or -r other.txt
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            problems.append(f"line {number} of requirements.txt is not a valid requirement: {line!r}")
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # pinned for another Python version
        checked += 1
        try:
            installed = importlib_metadata.version(requirement.name)
        except importlib_metadata.PackageNotFoundError:
            problems.append(f"{requirement.name} is not installed (wanted {requirement.specifier})")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            text = f"{canonicalize_name(requirement.name)} {installed} is installed, requirements.txt wants {requirement.specifier}"
            (notes if canonicalize_name(requirement.name) in _INSTALL_TOOLS else problems).append(text)
    if problems:
        shown = "; ".join(problems[:4]) + (f"; and {len(problems) - 4} more" if len(problems) > 4 else "")
        return Check(name, False, shown, _REINSTALL)
    detail = f"{checked - len(notes)} of {checked} pins of requirements.txt match"
    if notes:
        detail += f" (not counted, install tools only: {'; '.join(notes)})"
    return Check(name, True, detail)


def _keras_2() -> Check:
    # Both ways of reaching Keras must give tf-keras: the `tf.keras` attribute and `import tensorflow.keras...`
    # statements (what keras-rl2 uses; fixed when TensorFlow is first imported). Keras 3 lives in keras/_tf_keras.
    spec = importlib.util.find_spec("tensorflow.keras")
    tf_keras_dir = os.path.dirname(importlib.util.find_spec("tf_keras").origin)
    imports_tf_keras = spec is not None and os.path.abspath(spec.origin or "").startswith(tf_keras_dir + os.sep)
    ok = compat.keras_is_legacy() and imports_tf_keras
    import tensorflow as tf

    return Check(
        "Keras 2 (tf-keras)",
        ok,
        f"tensorflow.keras is tf-keras {tf.keras.__version__}"
        if ok
        else "TensorFlow is using Keras 3, which keras-rl2 cannot use",
        "" if ok else "Restart the kernel and run `import cartpole_dqn` before anything imports tensorflow or keras.",
    )


def _gymnasium_api(env_id: str) -> Check:
    import gymnasium as gym

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make(env_id)
        try:
            reset = env.reset(seed=0)
            step = env.step(env.action_space.sample())
        finally:
            env.close()
    problems = []
    if not (isinstance(reset, tuple) and len(reset) == 2 and isinstance(reset[1], dict)):
        problems.append(f"reset() returned {type(reset).__name__}, not (observation, info)")
    if not (isinstance(step, tuple) and len(step) == 5):
        problems.append(
            f"step() returned {len(step) if isinstance(step, tuple) else type(step).__name__} values, not 5"
        )
    ok = not problems
    return Check(
        "Gymnasium API",
        ok,
        f"gymnasium {gym.__version__}: reset() -> (obs, info), step() -> 5 values" if ok else "; ".join(problems),
        "" if ok else "Install Gymnasium, not the old gym package: " + _REINSTALL,
    )


def _rendering(env_id: str) -> Check:
    import gymnasium as gym

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make(env_id, render_mode="rgb_array")
        try:
            env.reset(seed=0)
            frame = env.render()
        finally:
            env.close()
    shape = getattr(frame, "shape", None)
    ok = shape == FRAME_SHAPE
    return Check(
        "Drawing the cart (rgb_array)",
        ok,
        f"a frame of {shape[1]}x{shape[0]} pixels"
        if ok
        else f"render() gave {type(frame).__name__} of shape {shape}, not {FRAME_SHAPE}",
        ""
        if ok
        else 'Install the drawing library: `python -m pip install "gymnasium[classic-control]==1.4.0"` (it brings pygame-ce).',
    )


def _writable(folder: Path) -> Check:
    name = "weights/ folder writable"
    fix = (
        f"Make {folder} writable (check its permissions, and that the project is not on a read-only drive), "
        "or set CARTPOLE_DQN_WEIGHTS_DIR to a folder you can write to."
    )
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-", suffix=".tmp"):
            pass
    except OSError as exc:
        return Check(name, False, f"cannot write in {folder} ({exc.strerror or exc})", fix)
    finally:
        if created:
            try:
                folder.rmdir()
            except OSError:
                pass
    return Check(name, True, f"can write in {folder}")


def _shipped(path: Path) -> Check:
    name = "Shipped pre-trained weights"
    try:
        stored = weights.read_weights(path)
    except weights.WeightsError as exc:
        what, _, fix = str(exc).partition(". ")
        return Check(name, False, what + ".", fix or "Restore them with `git checkout weights/` in the project folder.")
    meta = stored.metadata or {}
    detail = f"{path.name} present"
    if isinstance(meta.get("sha256"), dict):
        detail += ", checksums match"
    else:
        detail += f" (no checksums to compare: {weights.metadata_path(path).name} missing)"
    for key in ("test_mean", "mean"):
        if isinstance(meta.get(key), int | float):
            detail += f", test mean {meta[key]:.1f}"
            break
    return Check(name, True, detail)


def _run(name: str, check: Callable[[], Check]) -> Check:
    """Run one check; whatever goes wrong inside becomes a failed row, never an exception."""
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - the doctor must report, not crash
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        return Check(name, False, f"the check itself failed: {type(exc).__name__}: {text}", _REINSTALL)


def check_setup(
    verbose: bool = True,
    *,
    brief: bool = False,
    requirements: str | os.PathLike | None = None,
    weights_dir: str | os.PathLike | None = None,
    env_id: str = "CartPole-v0",
) -> SetupReport:
    """Check Python, the installed versions, Keras 2, Gymnasium, drawing, ``weights/`` and the shipped agent.

    Prints the report when ``verbose`` (the default); with ``brief=True`` a passing setup is one
    line and only a failing one gets the whole table. Returns the list of :class:`Check`
    (a :class:`SetupReport`: ``report.ok`` is True when all passed; a notebook shows it as one line).
    ``requirements`` and ``weights_dir`` default to the project's ``requirements.txt`` and
    ``weights/`` folder (or ``CARTPOLE_DQN_WEIGHTS_DIR``).
    """
    requirements_file = Path(requirements) if requirements is not None else settings.PROJECT_ROOT / "requirements.txt"
    folder = Path(weights_dir) if weights_dir is not None else weights.SHIPPED_WEIGHTS.parent
    shipped = folder / weights.SHIPPED_WEIGHTS.name
    checks = SetupReport(
        [
            _run("Python version", _python),
            _run("Package versions", lambda: _requirements(requirements_file)),
            _run("Keras 2 (tf-keras)", _keras_2),
            _run("Gymnasium API", lambda: _gymnasium_api(env_id)),
            _run("Drawing the cart (rgb_array)", lambda: _rendering(env_id)),
            _run("weights/ folder writable", lambda: _writable(folder)),
            _run("Shipped pre-trained weights", lambda: _shipped(shipped)),
        ]
    )
    if brief and checks.ok:
        print(f"Setup check: all {len(checks)} checks passed (details: python -m cartpole_dqn doctor).", flush=True)
    elif verbose or brief:
        print_report(checks)
    return checks


def format_report(checks: list[Check]) -> str:
    """The report as plain text: one row per check, a ``fix:`` line under each failure, a verdict."""
    width = max(len(check.name) for check in checks)
    lines = [f"{'':4}  {'check':<{width}}  result", f"{'':4}  {'-' * width}  {'-' * 40}"]
    for check in checks:
        lines.append(f"{'ok' if check.ok else 'FAIL':<4}  {check.name:<{width}}  {check.detail}")
        if not check.ok:
            lines.append(f"{'':4}  {'':<{width}}  fix: {check.fix}")
    failed = sum(not check.ok for check in checks)
    lines.append("")
    if failed:
        lines.append(f"{failed} of {len(checks)} checks failed: apply the fixes above, then run the check again.")
    else:
        lines.append(f"All {len(checks)} checks passed: this setup is ready.")
    return "\n".join(lines)


def print_report(checks: list[Check]) -> None:
    """Print :func:`format_report` (in a notebook the same text appears under the cell)."""
    print(format_report(checks), flush=True)


if __name__ == "__main__":  # pragma: no cover - python -m cartpole_dqn.doctor
    sys.exit(0 if all(c.ok for c in check_setup()) else 1)
