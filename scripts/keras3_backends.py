"""Run notebook 08's loop on the Keras 3 backend this interpreter has, and record it in notebooks/data/keras3_backends.json.

Usage (the backend is chosen by KERAS_BACKEND, as in notebook 08)::

    KERAS_BACKEND=tensorflow .venv/bin/python scripts/keras3_backends.py
    KERAS_BACKEND=jax /tmp/venv-jax/bin/python scripts/keras3_backends.py   # a throwaway venv: jax keras gymnasium nbformat

It runs the cells of ``notebooks/08_keras3.ipynb`` tagged ``loop`` (with ``scripts/dqn_loop.py``),
trains from seed 0 until solved (the notebook's rule), saves the network as ``.keras``, reloads it in a
fresh process (``scripts/keras3_reload.py keras``, the same interpreter) and records the step solved
at, the seconds, whether Keras compiled the step with XLA, and whether the reloaded Q-values of five
starting states are identical. JAX and PyTorch are not dependencies of this series: run this in a
separate environment that has them.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "notebooks" / "data" / "keras3_backends.json"


def main() -> None:
    os.environ.pop("TF_USE_LEGACY_KERAS", None)
    spec = importlib.util.spec_from_file_location("dqn_loop", ROOT / "scripts" / "dqn_loop.py")
    loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loader)
    nb = loader.load(notebook=ROOT / "notebooks" / "08_keras3.ipynb")
    keras, gym = nb["keras"], nb["gym"]
    keras.utils.set_random_seed(nb["SEED"])
    online, target = nb["make_networks"]()
    run = nb["run_dqn"](online, target, nb["SEED"], steps=50_000)
    folder = Path(tempfile.mkdtemp(prefix="cartpole-dqn-backends-"))
    online.save(folder / "agent.keras")
    states = np.stack([gym.make(nb["ENV_ID"]).reset(seed=s)[0] for s in range(5)])
    np.save(folder / "states.npy", states)
    reload = [sys.executable, ROOT / "scripts" / "keras3_reload.py", "keras"]
    reload += [folder / "agent.keras", folder / "states.npy", folder / "layers.npz"]
    fresh = json.loads(subprocess.run(reload, capture_output=True, text=True, check=True).stdout)
    same = bool(np.array_equal(online.predict_on_batch(states[:, None]), np.array(fresh["q"], np.float32)))
    row = {
        "keras": keras.__version__,
        "backend_version": importlib.import_module(keras.backend.backend()).__version__,
        "solved_at_step": run["solved_at"],
        "seconds": round(run["seconds"], 1),
        "xla": bool(online.jit_compile),
        "reloaded_q_identical": same,
        "date": datetime.date.today().isoformat(),
    }
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    results[keras.backend.backend()] = row
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(keras.backend.backend(), row)


if __name__ == "__main__":
    main()
