"""Install what a Google Colab runtime lacks for this series, and nothing else (run by the Colab cell).

Colab already has TensorFlow, tf-keras, NumPy, Gymnasium, pygame and matplotlib, and its other
packages are built against exactly those versions, so this never installs or upgrades TensorFlow
or NumPy. It adds keras-rl2 1.0.5 (without dependencies: its only one is TensorFlow), this package
(editable, from the cloned repository, without dependencies), and Gymnasium or a drawing library
only where they are missing or too old. Then it makes ``import cartpole_dqn`` work in the running
session and changes into ``notebooks/``. Run again, it installs nothing.

When something already imported must be replaced (TensorFlow loaded with Keras 3, an old Gymnasium),
it stops with one clear message: restart the session (Runtime > Restart session) and run the cell again.
Standard library only: it runs before anything of the series is installed.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import re
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESTART = "Runtime > Restart session"
MIN_GYMNASIUM = (1, 3)
KERAS_RL2 = "1.0.5"


def version_of(distribution: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def release(version: str | None) -> tuple[int, ...]:
    """The leading numbers of a version string: "2.20.1" -> (2, 20, 1); None -> ()."""
    numbers = re.match(r"\d+(\.\d+)*", version or "")
    return tuple(int(part) for part in numbers.group(0).split(".")) if numbers else ()


def editable_source() -> Path | None:
    """Where the installed ``cartpole-dqn`` is edited from, if it is an editable install."""
    # every copy on the path: a build folder's cartpole_dqn.egg-info has no direct_url.json
    texts = [dist.read_text("direct_url.json") for dist in importlib.metadata.distributions(name="cartpole-dqn")]
    text = next((text for text in texts if text), "")
    found = re.search(r'"url":\s*"file://([^"]+)"', text)
    return Path(found.group(1)).resolve() if found and '"editable":true' in text.replace(" ", "") else None


def plan() -> list[list[str]]:
    """The ``pip install`` argument lists this runtime needs (empty when nothing is missing)."""
    steps = []
    tensorflow = version_of("tensorflow")
    if tensorflow is None:
        raise SystemExit(
            "TensorFlow is not installed in this runtime; this setup never installs it. "
            "Choose Colab's default runtime (Runtime > Change runtime type) or follow the README's setup."
        )
    tf_keras = version_of("tf-keras") or version_of("tf_keras")
    if release(tf_keras)[:2] != release(tensorflow)[:2]:
        minor = ".".join(str(n) for n in release(tensorflow)[:2])
        steps.append(["--no-deps", f"tf-keras=={minor}.*"])  # Keras 2 for this TensorFlow
    if version_of("keras-rl2") != KERAS_RL2:
        steps.append(["--no-deps", f"keras-rl2=={KERAS_RL2}"])
    if release(version_of("gymnasium"))[:2] < MIN_GYMNASIUM:
        steps.append(["gymnasium>=1.3,<1.5"])
    if version_of("pygame") is None and version_of("pygame-ce") is None:
        steps.append(["pygame-ce"])
    for distribution in ("matplotlib", "pillow"):
        if version_of(distribution) is None:
            steps.append([distribution])
    if editable_source() != ROOT.resolve():
        steps.append(["--no-deps", "--editable", str(ROOT)])
    return steps


def needs_restart() -> str | None:
    """Why the running session must restart before the series can be imported, or None."""
    if "tensorflow" in sys.modules and "tf_keras" not in sys.modules:
        return "TensorFlow was imported with Keras 3 before this cell ran"
    loaded = sys.modules.get("cartpole_dqn")
    spec = None if loaded else importlib.util.find_spec("cartpole_dqn")
    origin = getattr(loaded, "__file__", None) or (spec.origin if spec else None)
    if origin and not Path(origin).resolve().is_relative_to(ROOT.resolve()):
        return f"another copy of the series ({Path(origin).parent.parent}) is installed or loaded"
    if "gymnasium" in sys.modules and release(getattr(sys.modules["gymnasium"], "__version__", ""))[:2] < MIN_GYMNASIUM:
        return "an older Gymnasium was already imported"
    return None


def activate_editable_install() -> None:
    """Make a fresh editable install importable in this session.

    pip registers it through a ``.pth`` file, which Python reads only at start-up; ``site.addsitedir``
    reads the site-packages folder's ``.pth`` files again now (paths already known are skipped).
    """
    importlib.invalidate_caches()
    if importlib.util.find_spec("cartpole_dqn") is None:
        site.addsitedir(sysconfig.get_paths()["purelib"])
        importlib.invalidate_caches()


def main() -> None:
    """Install what is missing, then make ``import cartpole_dqn`` work here."""
    steps = plan()
    for arguments in steps:
        print("pip install", " ".join(arguments), flush=True)
        quiet = dict(os.environ, PYTHONWARNINGS="ignore")  # not setuptools' notice about editable installs
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *arguments], check=True, env=quiet)
    if steps:
        activate_editable_install()
    reason = needs_restart()
    if reason is None and importlib.util.find_spec("cartpole_dqn") is None:
        reason = "the package installed but this session cannot see it yet"
    os.chdir(ROOT / "notebooks")
    if reason:
        raise SystemExit(f"Setup done, but {reason}: restart the session ({RESTART}), then run this cell again.")
    print(f"Ready: {'installed what was missing' if steps else 'nothing to install'}; working in {Path.cwd()}")


if __name__ == "__main__":
    main()
