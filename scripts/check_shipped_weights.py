"""Score the shipped weights over 100 CartPole-v0 episodes WITHOUT the cartpole_dqn package.

An independent check: plain tf-keras builds the tutorial's network and loads the checkpoint,
and a plain Gymnasium loop plays greedy episodes (the weights are read once; the forward pass
is a few lines of NumPy so that 100 episodes take a second, not a minute).
Usage: python scripts/check_shipped_weights.py [WEIGHTS_PREFIX] [--episodes N] [--seed S]
"""

import argparse
import os
from pathlib import Path

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent / "weights" / "dqn_pretrained.h5f"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="?", default=str(DEFAULT))
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=31_337)
    args = parser.parse_args()

    model = tf.keras.Sequential(
        [
            tf.keras.layers.Flatten(input_shape=(1, 4)),
            tf.keras.layers.Dense(24, activation="relu"),
            tf.keras.layers.Dense(24, activation="relu"),
            tf.keras.layers.Dense(2, activation="linear"),
        ]
    )
    model.load_weights(args.weights).expect_partial()
    w1, b1, w2, b2, w3, b3 = model.get_weights()

    env = gym.make("CartPole-v0")
    scores = []
    for episode in range(args.episodes):
        observation, _ = env.reset(seed=args.seed + episode)
        score, done = 0.0, False
        while not done:
            hidden = np.maximum(np.maximum(observation @ w1 + b1, 0) @ w2 + b2, 0)
            action = int(np.argmax(hidden @ w3 + b3))
            observation, reward, terminated, truncated, _ = env.step(action)
            score += reward
            done = terminated or truncated
        scores.append(score)
    print(f"{args.episodes} episodes: mean {np.mean(scores):.1f}, std {np.std(scores):.1f}, min {min(scores):.0f}")
    return 0 if np.mean(scores) >= env.spec.reward_threshold else 1


if __name__ == "__main__":
    raise SystemExit(main())
