"""Notebook 08's loop on Keras 3: its own cells train without tf-keras, and a .keras file reloads as the same network.

The cells tagged ``loop`` run in a fresh process (this one has loaded tf-keras through cartpole_dqn), as
``scripts/dqn_loop.py`` runs notebook 07's; ``scripts/keras3_reload.py`` reloads the file in another.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cartpole_dqn as cd

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "08_keras3.ipynb"
RELOAD = ROOT / "scripts" / "keras3_reload.py"
STEPS = 300  # 72 updates: enough to move the weights well away from the start

TRAIN = """
import importlib.util, json, sys
import numpy as np
spec = importlib.util.spec_from_file_location("dqn_loop", {loader!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
nb = module.load(notebook=__import__("pathlib").Path({notebook!r}))
nb["keras"].utils.set_random_seed(0)
online, target = nb["make_networks"]()
initial = online.get_weights()
run = nb["run_dqn"](online, target, 0, {steps}, check_every=None)
online.save({saved!r})
target.save({other!r})
states = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
np.save({states!r}, states)
print(json.dumps({{
    "q": online.predict_on_batch(states[:, None]).tolist(),
    "moved": max(float(np.abs(w - w0).max()) for w, w0 in zip(online.get_weights(), initial)),
    "updates": run["updates"],
    "mean": float(nb["greedy_scores"](online.get_weights(), 100, nb["EVAL_SEED"]).mean()),
    "loaded": sorted(m for m in ("tf_keras", "rl", "cartpole_dqn") if m in sys.modules),
    "keras": nb["keras"].__version__,
}}))
"""


def fresh_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env["KERAS_BACKEND"] = "tensorflow"
    return env


def run_json(args: list) -> dict:
    done = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, env=fresh_env())
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras3")
    paths = {
        name: str(folder / file)
        for name, file in [("saved", "online.keras"), ("other", "target.keras"), ("states", "states.npy")]
    }
    code = TRAIN.format(loader=str(ROOT / "scripts" / "dqn_loop.py"), notebook=str(NOTEBOOK), steps=STEPS, **paths)
    return run_json(["-c", code]), paths, folder


def test_the_loop_trains_on_keras_3_without_tf_keras_or_keras_rl2(trained):
    result, _, _ = trained
    assert result["keras"].startswith("3")
    assert result["loaded"] == []
    assert result["updates"] == sum(
        1
        for step in range(STEPS)
        if step > cd.agent.RECIPE["nb_steps_warmup"] and step % cd.agent.RECIPE["train_interval"] == 0
    )
    assert result["moved"] > 0.01  # it did train


def test_a_fresh_process_reloads_the_keras_file_with_the_same_q_values_and_score(trained):
    result, paths, folder = trained
    fresh = run_json([RELOAD, "keras", paths["saved"], paths["states"], folder / "layers.npz"])
    assert fresh["loaded"] == [] and fresh["backend"] == "tensorflow"
    assert np.array_equal(np.array(fresh["q"], np.float32), np.array(result["q"], np.float32))
    assert fresh["mean"] == result["mean"]
    fast = run_json([RELOAD, "fast-evaluator", folder / "layers.npz"])
    assert fast["mean"] == result["mean"]


def test_the_comparison_can_fail_another_network_gives_other_q_values(trained):
    result, paths, folder = trained
    other = run_json([RELOAD, "keras", paths["other"], paths["states"], folder / "other.npz"])  # the target network
    assert not np.array_equal(np.array(other["q"], np.float32), np.array(result["q"], np.float32))


def loop_cells(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells if "loop" in c.metadata.get("tags", [])]


def test_the_numpy_cells_and_the_settings_are_notebook_07s_word_for_word():
    ours, theirs = loop_cells(NOTEBOOK), loop_cells(ROOT / "notebooks" / "07_dqn_written_out.ipynb")
    for first_line in ("GAMMA = 0.99", "class ReplayMemory", "def boltzmann", "def train_step"):
        mine = [s for s in ours if s.startswith(first_line)]
        assert mine and mine[0] in theirs, f"08's cell starting {first_line!r} is not 07's"
    settings: dict = {}
    exec(next(s for s in ours if s.startswith("GAMMA = 0.99")), settings)
    recipe = {
        "learning_rate": settings["LEARNING_RATE"],
        "target_model_update": settings["TAU"],
        "nb_steps_warmup": settings["WARMUP"],
        "train_interval": settings["TRAIN_INTERVAL"],
        "batch_size": settings["BATCH_SIZE"],
    }
    assert recipe == cd.agent.RECIPE


def test_notebook_08_never_imports_the_series_package_or_keras_2():
    source = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    for forbidden in (
        "import cartpole_dqn",
        "from rl",
        "import rl",
        "import tf_keras",
        "from tensorflow",
        "import tensorflow",
    ):
        assert forbidden not in source, forbidden


def test_the_backends_file_has_tensorflow_and_agrees_with_the_committed_run():
    results = json.loads((ROOT / "notebooks" / "data" / "keras3_backends.json").read_text(encoding="utf-8"))
    assert "tensorflow" in results and all(row["reloaded_q_identical"] for row in results.values())
    headline = "".join(
        output.get("text", "")
        for cell in nbformat.read(NOTEBOOK, as_version=4).cells
        if "headline" in cell.metadata.get("tags", [])
        for output in cell.get("outputs", [])
    )
    assert f"solved at step {results['tensorflow']['solved_at_step']:,}," in headline
