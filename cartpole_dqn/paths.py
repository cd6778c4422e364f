"""Showing paths the way a learner recognises them (standard library only).

Inside the project a path is shown relative to the project folder (``weights/dqn_weights.h5f``),
so messages and the committed notebooks' outputs never carry one machine's absolute path;
outside it, relative to the working folder when below it, else absolute.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from .settings import PROJECT_ROOT

__all__ = ["shown", "for_shell"]


def shown(path: str | os.PathLike) -> str:
    """``path`` as text: relative to the project folder or the working folder when inside one, else absolute."""
    absolute = Path(os.path.abspath(os.fspath(path)))
    cwd = Path.cwd()
    for base in ([cwd] if cwd.parent != cwd else []) + [PROJECT_ROOT]:  # from "/" a relative path misleads
        try:
            relative = absolute.relative_to(base)
        except ValueError:
            continue
        return str(relative) if str(relative) != "." else str(absolute)
    return str(absolute)


def for_shell(path: str | os.PathLike) -> str:
    """``path`` as a shell in the current folder must type it: relative when below that folder, else absolute; quoted."""
    absolute = Path(os.path.abspath(os.fspath(path)))
    try:
        text = str(absolute.relative_to(Path.cwd()))
    except ValueError:
        text = str(absolute)
    return shlex.quote(text)
