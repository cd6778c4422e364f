"""A setup doctor: is this laptop (or Colab runtime) ready for the workshop? (the setup cell of every notebook)

:func:`check_setup` runs quick checks (nothing is trained) and :func:`print_report` shows them
as a table, with a fix for every failure::

    import cartpole_dqn
    cartpole_dqn.check_setup()

From a terminal: ``python -m cartpole_dqn doctor`` (exit code 0 when everything is fine).

This module needs only the standard library: with keras-rl2, Gymnasium, TensorFlow, tf-keras,
Pillow or packaging missing or broken it still runs, and reports each missing piece with the
command that installs it *where it runs* (Colab: ``%pip install`` and "Runtime > Restart
session"; a venv: its own pip; conda). It checks what the series needs: a supported Python,
TensorFlow and tf-keras of the same minor version, Keras 2 active, keras-rl2 1.0.5, Gymnasium's
API, drawing, a writable weights folder and an intact shipped agent. Other differences from
``requirements.txt`` (the exact lock ``make setup`` installs) are shown as information, never
as a failure. Every check catches its own errors: a broken setup gives a failed row, never a
traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

from . import settings
from .checkpoints import file_sha256
from .console import say
from .errors import DISTRIBUTIONS
from .paths import shown

__all__ = [
    "SUPPORTED_PYTHONS",
    "Check",
    "SetupReport",
    "check_setup",
    "print_report",
    "format_report",
    "restart_advice",
]

#: The one place the supported Python range is written (pyproject, Makefile and README are tested against it).
SUPPORTED_PYTHONS = ((3, 10), (3, 13))
#: The only keras-rl2 release; the compat patches are written against its source.
KERAS_RL2_VERSION = "1.0.5"
FRAME_SHAPE = (400, 600, 3)
#: Libraries the package imports, by import name, in the order they are reported.
_NEEDED = ("tensorflow", "tf_keras", "rl", "gymnasium", "numpy", "PIL", "pygame", "matplotlib", "packaging")
_SHIPPED_NAME = "dqn_pretrained.h5f"


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, whether it is fine, what was seen, and how to fix it.

    ``note`` marks a row that only informs (never a failure): shown as ``note`` instead of ``ok``.
    """

    name: str
    ok: bool
    detail: str
    fix: str = ""
    note: bool = False


class SetupReport(list):
    """The list of :class:`Check` that :func:`check_setup` returns, shown in a notebook as one summary line."""

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(check.ok for check in self)

    def __repr__(self) -> str:
        failed = [check.name for check in self if not check.ok]
        if not failed:
            return f"<setup report: all {_counted(self)} checks passed>"
        return f"<setup report: {len(failed)} of {_counted(self)} checks failed: {', '.join(failed)}>"


# --------------------------------------------------------------------------------------------
# where this runs, and fixes that fit it


def _where() -> str:
    """``"colab"``, ``"conda"``, ``"venv"`` or ``"system"``: decides how a fix is written."""
    if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:
        return "colab"
    if os.environ.get("CONDA_PREFIX") and os.path.exists(os.path.join(sys.prefix, "conda-meta")):
        return "conda"
    if sys.prefix != getattr(sys, "base_prefix", sys.prefix):
        return "venv"
    return "system"


def restart_advice() -> str:
    """How to start a fresh Python here: Colab's menu, Jupyter's menu, or a new process."""
    if _where() == "colab":
        return "Restart the session (Runtime > Restart session)"
    if "ipykernel" in sys.modules:
        return "Restart the kernel (Kernel > Restart Kernel)"
    return "Start a new Python process"


def _pip(*requirements: str) -> str:
    """The install command for ``requirements`` where this runs, as text for a ``fix:`` line."""
    quoted = " ".join(f'"{r}"' if any(c in r for c in "<>=[;~ ") else r for r in requirements)
    where = _where()
    if where == "colab":
        return f"Run `%pip install {quoted}` in a cell, then {restart_advice().lower()[0]}{restart_advice()[1:]}."
    if where == "conda":
        return f"In the active conda environment run `python -m pip install {quoted}`."
    if where == "venv":
        try:
            python = str(Path(sys.executable).absolute().relative_to(Path.cwd()))
        except ValueError:
            python = sys.executable
        return f"Run `{python} -m pip install {quoted}`."
    return f"Run `make setup` in the project folder (it makes a venv), or `python -m pip install {quoted}`."


def _pins(path: Path) -> dict[str, str]:
    """``{canonical name: "name==version"}`` from requirements.txt (empty when unreadable); markers evaluated if possible."""
    pins: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):
        return pins
    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        requirement, _, marker = line.partition(";")
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;]+)", requirement.strip())
        if not match:
            continue
        if marker.strip() and not _marker_holds(marker.strip()):
            continue
        pins[_canonical(match.group(1))] = f"{match.group(1)}=={match.group(3)}"
    return pins


def _marker_holds(marker: str) -> bool:
    """Evaluate an environment marker; without ``packaging``, the ``python_version`` ones requirements.txt uses."""
    try:
        from packaging.markers import Marker

        return Marker(marker).evaluate()
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - an odd marker: keep the pin
        return True
    match = re.fullmatch(r"python_(full_)?version\s*(<=|>=|==|!=|<|>)\s*[\"']([\d.]+)[\"']", marker)
    if not match:
        return True
    here = sys.version_info[:3] if match.group(1) else sys.version_info[:2]
    wanted = tuple(int(part) for part in match.group(3).split("."))
    here = tuple(here)[: len(wanted)] if match.group(1) else tuple(here)
    return {"<": here < wanted, "<=": here <= wanted, ">": here > wanted, ">=": here >= wanted}.get(
        match.group(2), here == wanted if match.group(2) == "==" else here != wanted
    )


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed(distribution: str) -> str | None:
    try:
        return importlib_metadata.version(distribution)
    except importlib_metadata.PackageNotFoundError:
        return None


def _install_hint(distribution: str, pins: dict[str, str]) -> str:
    """What to install for ``distribution``: keras-rl2 exactly; tf-keras to match TensorFlow; the lock's pin in a venv."""
    if distribution == "keras-rl2":
        return f"keras-rl2=={KERAS_RL2_VERSION}"
    if distribution == "tf-keras" and (tf_version := _installed("tensorflow")):
        return f"tf-keras~={'.'.join(tf_version.split('.')[:2])}.0"
    if _where() == "colab":  # keep Colab's own TensorFlow and NumPy: install only the name
        return distribution
    return pins.get(_canonical(distribution), distribution)


# --------------------------------------------------------------------------------------------
# the checks


def _python(version_info=None) -> Check:
    major, minor, micro = tuple(version_info or sys.version_info)[:3]
    (low_major, low), (high_major, high) = SUPPORTED_PYTHONS
    ok = (low_major, low) <= (major, minor) <= (high_major, high)
    supported = ", ".join(f"{low_major}.{m}" for m in range(low, high + 1))
    return Check(
        "Python version",
        ok,
        f"Python {major}.{minor}.{micro}" + ("" if ok else f" (the stack needs {low_major}.{low}–{high_major}.{high})"),
        ""
        if ok
        else f"Install Python {supported} (TensorFlow has no wheels for other versions), "
        "recreate the venv with it (`make setup PYTHON=python3.12`), then install requirements.txt.",
    )


def _libraries(pins: dict[str, str]) -> Check:
    """Every library the package imports is installed and imports without error."""
    missing, broken = [], []
    for module in _NEEDED:
        distribution = DISTRIBUTIONS[module]
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(distribution)
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if module == "tensorflow" and module not in sys.modules:
                    from .compat import (
                        _import_tensorflow as _import_tensorflow_quietly,
                    )  # its C++ start-up lines kept off the terminal

                    _import_tensorflow_quietly()
                importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in _NEEDED:  # else: reported as missing on its own row
                broken.append(f"{distribution} (needs {exc.name}, which is missing)")
        except Exception as exc:  # noqa: BLE001 - a broken install: report it
            text = " ".join(str(exc).split())[:100] or type(exc).__name__
            broken.append(f"{distribution} ({type(exc).__name__}: {text})")
    name = "Libraries installed"
    if not missing and not broken:
        return Check(name, True, f"all {len(_NEEDED)} import: {', '.join(DISTRIBUTIONS[m] for m in _NEEDED)}")
    parts = ([f"missing: {', '.join(missing)}"] if missing else []) + (
        [f"broken: {'; '.join(broken)}"] if broken else []
    )
    needed = [_install_hint(d, pins) for d in missing + [b.split(" (")[0] for b in broken]]
    fix = _pip(*needed)
    if broken:
        fix += " If a broken one stays broken, reinstall it with `--force-reinstall`, or check PYTHONPATH for a folder of the same name."
    return Check(name, False, "; ".join(parts), fix)


def _tensorflow_pair() -> Check:
    """TensorFlow and tf-keras must share a minor version (tf-keras 2.20.x runs only on TensorFlow 2.20.x)."""
    name = "TensorFlow and tf-keras"
    tf_version, tf_keras_version = _installed("tensorflow"), _installed("tf-keras")
    if tf_version is None or tf_keras_version is None:
        missing = " and ".join(d for d, v in (("tensorflow", tf_version), ("tf-keras", tf_keras_version)) if v is None)
        what = "tensorflow tf-keras" if tf_version is None else f"tf-keras~={'.'.join(tf_version.split('.')[:2])}.0"
        return Check(name, False, f"{missing} not installed", _pip(*what.split()))
    if tf_version.split(".")[:2] != tf_keras_version.split(".")[:2]:
        minor = ".".join(tf_version.split(".")[:2])
        return Check(
            name,
            False,
            f"tensorflow {tf_version} with tf-keras {tf_keras_version}: their minor versions differ",
            _pip(f"tf-keras~={minor}.0"),
        )
    return Check(name, True, f"tensorflow {tf_version}, tf-keras {tf_keras_version}")


def _keras_rl2() -> Check:
    name = "keras-rl2"
    version = _installed("keras-rl2")
    if version == KERAS_RL2_VERSION:
        return Check(name, True, f"keras-rl2 {version}")
    seen = "not installed" if version is None else f"keras-rl2 {version} is installed"
    return Check(
        name,
        False,
        f"{seen}; the series needs {KERAS_RL2_VERSION}",
        _pip(f"keras-rl2=={KERAS_RL2_VERSION}"),
    )


def _keras_2() -> Check:
    """``tensorflow.keras`` is tf-keras (Keras 2), through both ways keras-rl2 reaches it."""
    from . import compat

    name = "Keras 2 (tf-keras)"
    if importlib.util.find_spec("tf_keras") is None:
        return Check(
            name, False, "tf-keras is not installed, so Keras 2 is not available", _pip(_install_hint("tf-keras", {}))
        )
    if "tensorflow" not in sys.modules:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"  # what `import cartpole_dqn` does before TensorFlow loads
    import tensorflow as tf

    if compat.keras_3_in_use():
        return Check(
            name,
            False,
            "TensorFlow is using Keras 3, which keras-rl2 cannot use",
            f"{restart_advice()} and run `import cartpole_dqn` before anything imports tensorflow or keras.",
        )
    return Check(name, True, f"tensorflow.keras is tf-keras {_installed('tf-keras') or tf.keras.__name__}")


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
        "" if ok else "Install Gymnasium, not the old gym package: " + _pip("gymnasium[classic-control]"),
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
        "" if ok else "Install the drawing library (pygame-ce): " + _pip("gymnasium[classic-control]"),
    )


def _writable(folder: Path) -> Check:
    name = "weights/ folder writable"
    fix = (
        f"Make {shown(folder)} writable (check its permissions, and that the project is not on a read-only drive), "
        "or set CARTPOLE_DQN_WEIGHTS_DIR to a folder you can write to."
    )
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-", suffix=".tmp"):
            pass
    except OSError as exc:
        return Check(name, False, f"cannot write in {shown(folder)} ({exc.strerror or exc})", fix)
    finally:
        if created:
            try:
                folder.rmdir()
            except OSError:
                pass
    return Check(name, True, f"can write in {shown(folder)}")


def _shipped(path: Path) -> Check:
    """The shipped agent is there and matches its recorded SHA-256 (standard library); then it is read, if TensorFlow can."""
    name = "Shipped pre-trained weights"
    restore = (
        "Restore them with `git checkout weights/` in the project folder."
        if path.parent.resolve() == (settings.PROJECT_ROOT / "weights").resolve()
        else f"CARTPOLE_DQN_WEIGHTS_DIR points to {shown(path.parent)}: copy the project's weights/ folder there, "
        "or unset that variable to use the project's own."
    )
    record = path.with_suffix(".json")
    files = [path.with_name(path.name + ".index"), path.with_name(path.name + ".data-00000-of-00001")]
    absent = [file for file in [*files, record] if not file.is_file()]
    if absent:
        return Check(name, False, f"missing: {', '.join(shown(file) for file in absent)}", restore)
    try:
        meta = json.loads(record.read_text(encoding="utf-8"))
        recorded = meta["sha256"]
        assert isinstance(recorded, dict)
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        return Check(name, False, f"{shown(record)} is damaged (not the JSON record with checksums)", restore)
    for file in files:
        if recorded.get(file.name) != file_sha256(file):
            return Check(name, False, f"{shown(file)} is damaged or was changed: its SHA-256 does not match", restore)
    detail = f"{path.name} present, checksums match"
    if isinstance(meta.get("test_mean"), int | float):
        detail += f", test mean {meta['test_mean']:.1f}"
    try:
        from . import weights
    except Exception:  # noqa: BLE001 - the stack is missing: the libraries row says so
        return Check(name, True, detail + " (not loaded: the libraries it needs are missing)")
    try:
        stored = weights.read_weights(path)
    except weights.WeightsError as exc:
        return Check(name, False, " ".join(str(exc).split(". ")[:1]) + ".", restore)
    return Check(name, True, detail + f", {len(stored.layers)} layers read")


def _versions(path: Path) -> Check:
    """Information only: where installed versions differ from requirements.txt (the lock of `make setup`)."""
    name = "Other versions (information)"
    pins = _pins(path)
    if not pins:
        return Check(name, True, f"no pins to compare ({shown(path)} missing or unreadable)", note=True)
    different = []
    for canonical, pin in sorted(pins.items()):
        wanted = pin.split("==", 1)[1]
        installed = _installed(canonical)
        if installed is not None and installed != wanted:
            different.append(f"{canonical} {installed} (lock {wanted})")
    if not different:
        return Check(name, True, f"all installed packages match the {len(pins)} pins of requirements.txt", note=True)
    shown_list = "; ".join(different[:6]) + (f"; and {len(different) - 6} more" if len(different) > 6 else "")
    return Check(name, True, f"differ from requirements.txt (fine if the checks above pass): {shown_list}", note=True)


def _run(name: str, check: Callable[[], Check]) -> Check:
    """Run one check; whatever goes wrong inside becomes a failed row, never an exception."""
    try:
        return check()
    except ModuleNotFoundError as exc:
        distribution = DISTRIBUTIONS.get((exc.name or "").split(".")[0], exc.name or "?")
        return Check(name, False, f"cannot check: {distribution} is not installed", _pip(distribution))
    except Exception as exc:  # noqa: BLE001 - the doctor must report, not crash
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        return Check(
            name,
            False,
            f"the check itself failed: {type(exc).__name__}: {text}",
            "Fix the rows above first (a missing or broken library), then run the check again.",
        )


def check_setup(
    verbose: bool = True,
    *,
    brief: bool = False,
    requirements: str | os.PathLike | None = None,
    weights_dir: str | os.PathLike | None = None,
    env_id: str = "CartPole-v0",
) -> SetupReport:
    """Check Python, the libraries, TensorFlow/tf-keras, keras-rl2, Keras 2, Gymnasium, drawing, ``weights/``.

    Prints the report when ``verbose`` (the default); with ``brief=True`` a passing setup is one
    line and only a failing one gets the whole table. Returns the list of :class:`Check`
    (a :class:`SetupReport`: ``report.ok`` is True when all passed; a notebook shows it as one line).
    ``requirements`` and ``weights_dir`` default to the project's ``requirements.txt`` and
    ``weights/`` folder (or ``CARTPOLE_DQN_WEIGHTS_DIR``).
    """
    if "tensorflow" not in sys.modules:  # as `import cartpole_dqn` would, had it got that far
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    requirements_file = Path(requirements) if requirements is not None else settings.PROJECT_ROOT / "requirements.txt"
    folder = Path(weights_dir) if weights_dir is not None else _shipped_folder()
    pins = _pins(requirements_file)
    checks = SetupReport(
        [
            _run("Python version", _python),
            _run("Libraries installed", lambda: _libraries(pins)),
            _run("TensorFlow and tf-keras", _tensorflow_pair),
            _run("keras-rl2", _keras_rl2),
            _run("Keras 2 (tf-keras)", _keras_2),
            _run("Gymnasium API", lambda: _gymnasium_api(env_id)),
            _run("Drawing the cart (rgb_array)", lambda: _rendering(env_id)),
            _run("weights/ folder writable", lambda: _writable(folder)),
            _run("Shipped pre-trained weights", lambda: _shipped(folder / _SHIPPED_NAME)),
            _run("Other versions (information)", lambda: _versions(requirements_file)),
        ]
    )
    if brief and checks.ok:
        say(f"Setup check: all {_counted(checks)} checks passed (details: python -m cartpole_dqn doctor).")
    elif verbose or brief:
        print_report(checks)
    return checks


def _shipped_folder() -> Path:
    """Where the shipped agent is: the weights module's setting when it is loaded (tests move it), else the settings'."""
    weights = sys.modules.get(f"{__package__}.weights")
    return weights.SHIPPED_WEIGHTS.parent if weights is not None else settings.WEIGHTS_DIR


def _counted(checks: list[Check]) -> int:
    return sum(not check.note for check in checks)


def format_report(checks: list[Check]) -> str:
    """The report as plain text: one row per check, a ``fix:`` line under each failure, a verdict."""
    width = max(len(check.name) for check in checks)
    lines = [f"{'':4}  {'check':<{width}}  result", f"{'':4}  {'-' * width}  {'-' * 40}"]
    for check in checks:
        label = "FAIL" if not check.ok else "note" if check.note else "ok"
        lines.append(f"{label:<4}  {check.name:<{width}}  {check.detail}")
        if not check.ok:
            lines.append(f"{'':4}  {'':<{width}}  fix: {check.fix}")
    failed = sum(not check.ok for check in checks)
    lines.append("")
    if failed:
        lines.append(f"{failed} of {_counted(checks)} checks failed: apply the fixes above, then run the check again.")
    else:
        lines.append(f"All {_counted(checks)} checks passed: this setup is ready.")
    return "\n".join(lines)


def print_report(checks: list[Check]) -> None:
    """Print :func:`format_report` (in a notebook the same text appears under the cell)."""
    say(format_report(checks))


if __name__ == "__main__":  # pragma: no cover - python -m cartpole_dqn.doctor
    sys.exit(0 if all(c.ok for c in check_setup()) else 1)
