"""Notebook 08's fresh processes: reload a ``.keras`` file with Keras 3, or score its weights with the series' evaluator.

Usage::

    python scripts/keras3_reload.py keras MODEL.keras STATES.npy LAYERS.npz
    python scripts/keras3_reload.py fast-evaluator LAYERS.npz

``keras``: Keras 3 only (no tf-keras, no keras-rl2, no cartpole_dqn): ``keras.models.load_model``,
the Q-values of the states in STATES.npy, 100 greedy episodes (seeds 10,000 + k) played with the
reloaded model's ``predict_on_batch``, and the (kernel, bias, activation) of each Dense layer
written to LAYERS.npz. ``fast-evaluator``: ``cartpole_dqn.evaluate`` on a ``GreedyPolicy`` built
from LAYERS.npz. Each prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

EPISODES, SEED = 100, 10_000  # the episodes of the "is it solved?" check (notebooks 03, 07, 08)


def keras_side(model_path: str, states_path: str, layers_path: str) -> dict:
    os.environ.pop("TF_USE_LEGACY_KERAS", None)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import gymnasium as gym
    import keras

    model = keras.models.load_model(model_path, compile=False)  # compile=False: the loss is only for training
    q = model.predict_on_batch(np.load(states_path)[:, None])
    envs = [gym.make("CartPole-v0") for _ in range(EPISODES)]
    states = np.stack([env.reset(seed=SEED + k)[0] for k, env in enumerate(envs)])
    scores, alive = np.zeros(EPISODES), np.ones(EPISODES, bool)
    while alive.any():
        actions = model.predict_on_batch(states[:, None]).argmax(axis=1)
        for k in np.flatnonzero(alive):
            states[k], reward, terminated, truncated, _ = envs[k].step(int(actions[k]))
            scores[k] += reward
            alive[k] = not (terminated or truncated)
    dense = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    arrays = {}
    for i, layer in enumerate(dense):
        arrays[f"kernel{i}"], arrays[f"bias{i}"] = layer.get_weights()
        arrays[f"activation{i}"] = np.array(layer.get_config()["activation"])
    np.savez(layers_path, **arrays)
    loaded = sorted(name for name in ("tf_keras", "rl", "cartpole_dqn") if name in sys.modules)
    return {
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "q": q.tolist(),
        "mean": float(scores.mean()),
        "loaded": loaded,
    }


def fast_evaluator_side(layers_path: str) -> dict:
    import cartpole_dqn as cd

    arrays = np.load(layers_path)
    count = sum(1 for name in arrays.files if name.startswith("kernel"))
    layers = [(arrays[f"kernel{i}"], arrays[f"bias{i}"], str(arrays[f"activation{i}"])) for i in range(count)]
    return {"mean": cd.evaluate(cd.policy.GreedyPolicy(tuple(layers)), episodes=EPISODES, seed=SEED).mean}


if __name__ == "__main__":
    side = {"keras": keras_side, "fast-evaluator": fast_evaluator_side}.get(sys.argv[1] if len(sys.argv) > 1 else "")
    if side is None:
        raise SystemExit(__doc__)
    print(json.dumps(side(*sys.argv[2:])))
