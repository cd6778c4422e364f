"""Check the series on a Colab-like runtime, without Colab and without the network to GitHub (``make colab-profile``).

1. A Python 3.13 venv (``.venv-colab``) with exactly Colab's versions of the packages that matter
   (``COLAB_PACKAGES``: TensorFlow 2.20, tf-keras 2.20, Keras 3.13, NumPy 2.1, Gymnasium 1.3, pygame 2.6,
   and matplotlib/pillow as Colab has them) plus what runs notebooks (nbclient, ipykernel, nbval), and
   nothing from requirements.txt. Made once; delete the folder to rebuild it.
2. The Colab setup cell (scripts/colab_cell.py), in a fresh kernel that looks like Colab's
   (``COLAB_RELEASE_TAG`` set), cloning this repository's committed HEAD from a ``file://`` URL into a
   temporary folder instead of GitHub; then ``import cartpole_dqn`` in the same kernel. It must install
   keras-rl2 and the package only, never TensorFlow or NumPy (checked against the versions above).
3. The same cell again in a new kernel (after a restart): it must install nothing.
4. Every notebook of the clone, with the Colab cells written in, under nbval with the smoke budget.
5. ``python -m cartpole_dqn doctor`` in the clone.

Prints one line per step and exits 1 if any failed. Standard library only (it drives other Pythons).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))  # scripts/ is not a package: the cell's one source lives beside this file

#: Google Colab's default runtime (its published package list, August 2026) for what the series uses.
COLAB_PACKAGES = [
    "tensorflow==2.20.0",
    "tf_keras==2.20.1",
    "keras==3.13.2",
    "numpy==2.1.3",
    "gymnasium==1.3.0",
    "pygame==2.6.1",
    "matplotlib<3.11",
    "pillow<12",
]
NOTEBOOK_TOOLS = ["nbclient", "nbconvert", "nbformat", "ipykernel", "nbval", "pytest"]
#: the learner's first steps after the setup cell, in the same session (no restart)
FIRST_LESSON = """import cartpole_dqn as cd

print(cd.__file__)
dqn = cd.compile_agent(cd.build_agent(cd.build_model(4, 2), 2))
dqn.fit(cd.make_env("CartPole-v0", seed=0), nb_steps=100, visualize=False, verbose=0)
print("trained 100 steps; drew", len(cd.record_episode(None, "CartPole-v0", seed=1)), "frames")"""
#: lines that must not reach a learner's cell: ALSA without a sound card, TensorFlow 2.20's absl/MLIR lines
NOISE = ["ALSA", "MLIR", "InitializeLog"]
MUST_NOT_CHANGE = ["tensorflow", "tf_keras", "keras", "numpy", "gymnasium", "pygame"]


def find_python313() -> str | None:
    """A Python 3.13 interpreter: python3.13 on PATH, or one that pyenv installed."""
    found = shutil.which("python3.13")
    candidates = [found] if found else []
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")), reverse=True)
    for candidate in candidates:  # a pyenv shim is on PATH but fails unless 3.13 is selected: try each one
        if subprocess.run([candidate, "-c", "import sys"], capture_output=True).returncode == 0:
            return candidate
    return None


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def make_venv(venv: Path, python: str) -> Path:
    """Create the profile venv once (about 3 minutes with a warm pip cache)."""
    target = venv_python(venv)
    if (venv / ".colab-profile").is_file():
        return target
    subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(target), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(target), "-m", "pip", "install", "--quiet", *COLAB_PACKAGES, *NOTEBOOK_TOOLS], check=True)
    (venv / ".colab-profile").write_text("\n".join(COLAB_PACKAGES) + "\n")
    return target


def versions(python: Path) -> dict[str, str]:
    code = "import importlib.metadata as m, json, sys; print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    out = subprocess.run([str(python), "-c", code, *MUST_NOT_CHANGE], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def notebook(cells: list[dict]) -> dict:
    kernelspec = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return {"cells": cells, "metadata": {"kernelspec": kernelspec}, "nbformat": 4, "nbformat_minor": 5}


def execute(python: Path, path: Path, env: dict[str, str]) -> tuple[list[str], str]:
    """Run a notebook in a fresh kernel of ``python``; return each code cell's text output and any error."""
    out = path.with_name(path.stem + ".out.ipynb")
    result = subprocess.run(
        [str(python), "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
         "--output", out.name, str(path)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode:
        return [], result.stderr[-1500:]
    texts, error = [], ""
    for cell in json.loads(out.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        parts = []
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                parts.append("".join(output["text"]))
            elif output["output_type"] == "error":
                error = f"{output['ename']}: {output['evalue']}"
                parts.append(error)
            elif "text/plain" in output.get("data", {}):
                parts.append("".join(output["data"]["text/plain"]))
        texts.append("".join(parts))
    return texts, error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=find_python313(), help="a Python 3.13 (default: python3.13 or pyenv's)")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv-colab", help="the profile venv (made once)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone and print its path")
    args = parser.parse_args(argv)
    if not args.python:
        print("error: no Python 3.13 found; pass one with --python /path/to/python3.13.", file=sys.stderr)
        return 2
    import colab_cell  # scripts/colab_cell.py: the one source of the cell (needs nbformat only to write files)

    python = make_venv(args.venv, args.python)
    # a fresh Colab runtime has neither: remove what an earlier run of this check installed
    subprocess.run(
        [str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "cartpole-dqn", "keras-rl2"], check=False
    )
    before = versions(python)
    tmp = Path(tempfile.mkdtemp(prefix="colab-profile-"))
    clone = tmp / "content" / "cartpole-dqn"
    env = dict(os.environ, COLAB_RELEASE_TAG="local-colab-profile", CARTPOLE_DQN_COLAB_DIR=str(clone))
    env["CARTPOLE_DQN_REPO"] = f"file://{ROOT}"
    env["JUPYTER_PATH"] = str(args.venv / "share" / "jupyter")
    env.pop("CARTPOLE_DQN_SMOKE", None)
    env.pop("VIRTUAL_ENV", None)
    results = []

    def report(step: str, ok: bool, detail: str) -> None:
        results.append(ok)
        print(f"[{'ok' if ok else 'FAILED'}] {step}: {detail.strip()}", flush=True)

    # 2. the learner opens a notebook in Colab and runs the setup cell, then the series' first import
    setup_cell = colab_cell.expected_cells("01_random_baseline.ipynb")[1]
    first = tmp / "first_run.ipynb"
    import_cell = {**setup_cell, "id": "import", "source": FIRST_LESSON}
    first.write_text(json.dumps(notebook([setup_cell, import_cell])))
    texts, error = execute(python, first, env)
    after = versions(python)
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    noise = [word for word in NOISE if any(word in text for text in texts[1:])]
    ok = not error and not changed and not noise and len(texts) == 2 and str(clone) in texts[1]
    detail = f"{error or ' | '.join(texts)}; changed versions: {changed or 'none'}; log noise: {noise or 'none'}"
    report("setup cell, then import, train and draw in the same session", ok, detail)

    # 3. after a restart: the cell again, nothing to install
    again = tmp / "second_run.ipynb"
    again.write_text(json.dumps(notebook([setup_cell])))
    texts, error = execute(python, again, env)
    report("setup cell, second run", not error and "nothing to install" in "".join(texts), error or " ".join(texts))

    # 4. every notebook, with the Colab cells, smoke budgets
    if clone.is_dir():
        notebooks = sorted((clone / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        for path in notebooks:
            colab_cell.update_file(path)
        smoke_env = dict(env, CARTPOLE_DQN_SMOKE="1")
        run = subprocess.run(
            [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
             *map(str, notebooks)],
            cwd=clone, env=smoke_env, capture_output=True, text=True,
        )  # fmt: skip
        summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-500:]
        report(f"{len(notebooks)} notebooks, smoke run (nbval)", run.returncode == 0, summary)
        if run.returncode:
            print(run.stdout[-4000:])
        # 5. the doctor
        doctor = subprocess.run(
            [str(python), "-m", "cartpole_dqn", "doctor"], cwd=clone, env=env, capture_output=True, text=True
        )
        report("doctor", doctor.returncode == 0, f"exit code {doctor.returncode}")
        print(doctor.stdout + doctor.stderr)
    else:
        report("notebooks and doctor", False, "skipped: the setup cell did not clone the repository")
    print(f"versions in the profile: {versions(python)}")
    if args.keep:
        print(f"kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    passed = sum(results)
    print(f"colab profile: {passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
