"""The one writer for every line the package prints (standard library only).

:func:`say` never raises: a character the stream's encoding cannot show becomes an ASCII
stand-in (``≥`` -> ``>=``, ``±`` -> ``+/-``, ``—`` -> ``-``, others ``?``), and a stream that
cannot be written (a closed pipe such as ``| head -1``, a full disk such as ``>/dev/full``) is
left alone from then on, so that the work it reports on (a training, a save) goes on.
:func:`lost` tells the command line afterwards why such a stream was given up.
"""

from __future__ import annotations

import os
import sys

__all__ = ["say", "lost"]

_ASCII = str.maketrans({"—": "-", "–": "-", "≥": ">=", "≤": "<=", "±": "+/-", "×": "x", "→": "->", "…": "..."})

#: ``(stream, the error that made us give it up)``, kept alive so that identity checks stay valid.
_LOST: list[tuple[object, BaseException]] = []


def lost(stream=None) -> BaseException | None:
    """The error that stopped :func:`say` writing to ``stream`` (default: stdout), or ``None``."""
    stream = sys.stdout if stream is None else stream
    return next((error for known, error in _LOST if known is stream), None)


def _fits(text: str, stream) -> str:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return text.translate(_ASCII).encode(encoding, errors="replace").decode(encoding)
    except LookupError:  # an encoding Python does not know: plain ASCII is safe
        return text.translate(_ASCII).encode("ascii", errors="replace").decode("ascii")
    return text


def _give_up(stream, error: BaseException) -> None:
    _LOST.append((stream, error))
    try:  # what is still buffered would fail again when Python exits: send it nowhere instead
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    except (AttributeError, OSError, ValueError):
        pass


def say(text: str = "", stream=None) -> None:
    """Write ``text`` and a newline to ``stream`` (default: stdout) and flush; never raises on the stream."""
    stream = sys.stdout if stream is None else stream
    if stream is None or lost(stream) is not None:
        return
    try:
        stream.write(_fits(f"{text}\n", stream))
        stream.flush()
    except (OSError, ValueError) as error:  # EPIPE, ENOSPC, EIO, a closed file
        _give_up(stream, error)
