"""Download every wheel the lock needs for the common learner platforms into one folder (``make wheelhouse``).

For an offline room: an instructor runs this once on a good connection, copies the repository and
its ``wheelhouse/`` folder to each laptop (a USB stick), and ``make setup`` (or ``python tasks.py
setup``) then installs from that folder with ``--no-index``: no network at all.

For each platform and Python version, ``uv pip compile`` expands requirements.txt to the complete
list for that target (the lock, plus what only that platform needs, such as colorama and pywinpty on
Windows) and ``pip download --only-binary=:all: --no-deps`` fetches exactly those wheels. Packages
published only as source (keras-rl2) are built once into a pure-Python wheel. Prints the size each
platform needs and the folder's total.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: glibc 2.28+ (Debian 10, Ubuntu 18.10, RHEL 8 and later); pip does not widen Linux tags by itself
LINUX_TAGS = [f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)] + [
    f"manylinux{alias}_x86_64" for alias in ("2014", "2010", "1")
]
#: name -> (uv's --python-platform, pip's --platform tags; pip widens macOS tags to older releases)
PLATFORMS = {
    "linux-x86_64": ("x86_64-unknown-linux-gnu", LINUX_TAGS),
    "windows-x86_64": ("x86_64-pc-windows-msvc", ["win_amd64"]),
    "macos-arm64": ("aarch64-apple-darwin", ["macosx_14_0_arm64"]),
}
PYTHONS = ["3.11", "3.12", "3.13"]
#: installed by `make setup` before the lock; the editable package's build needs setuptools (in the lock)
BOOTSTRAP = ["pip"]


def uv_command() -> list[str]:
    """How to run uv: on PATH, or as a module of this Python; a clear error otherwise."""
    if shutil.which("uv"):
        return [shutil.which("uv")]
    probe = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True)
    if probe.returncode == 0:
        return [sys.executable, "-m", "uv"]
    raise SystemExit("error: the wheelhouse needs uv to resolve other platforms' packages: `python -m pip install uv`.")


def compile_for(uv: list[str], lock: Path, platform: str, python: str, out: Path) -> list[str]:
    """The lock expanded to one target: a list of ``name==version`` lines."""
    subprocess.run(
        [*uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--python-platform", platform,
         "--python-version", python, str(lock), "-o", str(out)],
        check=True,
    )  # fmt: skip
    return [line.strip() for line in out.read_text().splitlines() if line.strip() and not line.startswith("#")]


def download(requirements: list[str], tags: list[str], python: str, folder: Path, work: Path) -> None:
    """pip download the wheels; a package with no wheel for the target is built once (pure Python only)."""
    pending = list(requirements)
    while pending:
        listing = work / "download.txt"
        listing.write_text("\n".join(pending) + "\n")
        platform_args = [arg for tag in tags for arg in ("--platform", tag)]
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", *platform_args,
             "--python-version", python, "--implementation", "cp", "-d", str(folder), "-r", str(listing)],
            capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode == 0:
            return
        missing = re.search(r"No matching distribution found for (\S+)", result.stderr)
        if not missing:
            raise SystemExit(f"error: pip download failed for Python {python} {tags}:\n{result.stderr[-2000:]}")
        requirement = missing.group(1)
        built = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(folder), requirement],
            capture_output=True, text=True,
        )  # fmt: skip
        wheel = re.sub(r"[-_.]+", "_", requirement.split("==")[0]).lower()
        pure = [
            p
            for p in folder.glob("*.whl")
            if p.name.lower().startswith(wheel + "-") and p.name.endswith("-none-any.whl")
        ]
        if built.returncode or not pure:
            raise SystemExit(f"error: {requirement} has no wheel for Python {python} {tags}, and is not pure Python.")
        pending = [line for line in pending if line != requirement]


def wheel_name(line: str) -> str:
    """The normalised distribution name of a ``name==version`` line."""
    return re.sub(r"[-_.]+", "_", re.split(r"[=\[;<> ]", line, maxsplit=1)[0]).lower()


def size_for(folder: Path, requirements: list[str], tags: list[str], python: str) -> int:
    """Bytes of the wheels in the folder that one target installs."""
    tag_words = {tag.split("_")[0] for tag in tags}  # manylinux / win / macosx
    short = "cp" + python.replace(".", "")
    total = 0
    for line in requirements:
        name, version = wheel_name(line), line.split("==")[1].split(";")[0].strip()
        for wheel in folder.glob("*.whl"):
            parts = wheel.name[:-4].split("-")
            if parts[0].lower() != name or parts[1] != version:
                continue
            python_tag, platform_tag = parts[-3], parts[-1]
            if platform_tag != "any" and not any(word in platform_tag for word in tag_words):
                continue
            if python_tag.startswith("cp") and short not in python_tag and "abi3" not in parts[-2]:
                continue
            total += wheel.stat().st_size
            break
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=ROOT / "wheelhouse", help="folder (default: wheelhouse/)")
    parser.add_argument("--requirements", type=Path, default=ROOT / "requirements.txt")
    parser.add_argument("--platform", action="append", choices=sorted(PLATFORMS), help="default: all three")
    parser.add_argument("--python", action="append", help=f"default: {' '.join(PYTHONS)}")
    args = parser.parse_args(argv)
    uv = uv_command()
    args.dest.mkdir(parents=True, exist_ok=True)
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lock = work / "lock.txt"  # the lock without `-e .`: the package itself is built from the checkout
        lock.write_text("".join(line for line in args.requirements.open() if not line.startswith("-e")))
        for name in args.platform or sorted(PLATFORMS):
            uv_platform, tags = PLATFORMS[name]
            for python in args.python or PYTHONS:
                print(f"{name}, Python {python} ...", flush=True)
                requirements = compile_for(uv, lock, uv_platform, python, work / "compiled.txt") + BOOTSTRAP
                download(requirements, tags, python, args.dest, work)
                pinned = [line for line in requirements if "==" in line]
                sizes[(name, python)] = size_for(args.dest, pinned, tags, python)
    print(f"\nWheelhouse {args.dest}:")
    for (name, python), size in sizes.items():
        print(f"  {name:15} Python {python}: {size / 1e6:8.0f} MB")
    total = sum(path.stat().st_size for path in args.dest.glob("*.whl"))
    print(f"  {'all':15} {'':11} {total / 1e6:8.0f} MB in {len(list(args.dest.glob('*.whl')))} wheels")
    print("Install from it with no network: make setup (it uses wheelhouse/ when the folder exists).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
