"""Project-wide settings: the smoke switch and where things live."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["SMOKE", "PROJECT_ROOT", "WEIGHTS_DIR"]

#: ``CARTPOLE_DQN_SMOKE=1`` shrinks every budget (steps, episodes, frames) so that the
#: notebooks run top to bottom in seconds; ``make test`` sets it. A smoke run writes
#: nothing into ``weights/``. The notebooks read it as ``cd.SMOKE``.
SMOKE: bool = os.environ.get("CARTPOLE_DQN_SMOKE", "") not in ("", "0")

#: The repository checkout (the package is installed from it with ``pip install -e .``).
PROJECT_ROOT: Path = Path(__file__).resolve().parent.parent

#: Where trained weights are saved and the pre-trained ones are shipped.
WEIGHTS_DIR: Path = Path(os.environ.get("CARTPOLE_DQN_WEIGHTS_DIR", PROJECT_ROOT / "weights"))
