"""The shipped agent in weights/ is present, intact, and solves CartPole-v0 on its own."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from cartpole_dqn.weights import SHIPPED_METADATA, SHIPPED_WEIGHTS, file_sha256

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_files_match_their_recorded_checksums():
    recorded = json.loads(SHIPPED_METADATA.read_text())["sha256"]
    assert set(recorded) == {"dqn_pretrained.h5f.index", "dqn_pretrained.h5f.data-00000-of-00001"}
    for name, digest in recorded.items():
        assert file_sha256(SHIPPED_WEIGHTS.parent / name) == digest, name


def test_shipped_weights_solve_cartpole_without_the_package():
    # plain tf-keras + Gymnasium in a fresh process, on episodes the training never used
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_shipped_weights.py"), "--episodes", "100", "--seed", "4242"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    match = re.search(r"100 episodes: mean ([\d.]+)", result.stdout)
    assert match, result.stdout + result.stderr[-2000:]
    assert float(match.group(1)) >= 195.0
    assert result.returncode == 0


def test_recorded_test_mean_is_at_least_the_threshold():
    metadata = json.loads(SHIPPED_METADATA.read_text())
    assert metadata["test_episodes"] == 100
    assert metadata["test_mean"] >= 195.0


def test_the_recorded_recipe_is_the_one_make_pretrained_trains_with():
    import cartpole_dqn as cd

    recorded = json.loads(SHIPPED_METADATA.read_text())["recipe"]
    assert recorded.startswith("SHIPPED_RECIPE: " + cd.agent.describe_recipe(**cd.agent.SHIPPED_RECIPE))
    assert "notebook 03" not in recorded  # notebook 03 teaches cd.agent.RECIPE, not this one
