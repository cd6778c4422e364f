"""Shared test setup.

``cartpole_dqn`` must be imported before TensorFlow (it makes ``tensorflow.keras`` mean Keras 2,
which keras-rl2 needs); pytest loads this file before any test module, so it happens here.
"""

import cartpole_dqn  # noqa: F401
