"""``python -m cartpole_dqn ...``: the command line of :mod:`cartpole_dqn.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
