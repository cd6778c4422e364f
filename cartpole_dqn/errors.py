"""The package's own error types, and the checks of whole-number arguments they come from.

Standard library only: the command line and the doctor import this module even when
TensorFlow, keras-rl2 or Gymnasium are missing. :class:`CartPoleDQNError` is the base of
every error the package raises on purpose (a mistake in what was asked, a missing or damaged
file, a setup that cannot work); the command line reports those as one ``error:`` line and
lets anything else (a bug) show its traceback.
"""

from __future__ import annotations

import operator

__all__ = [
    "CartPoleDQNError",
    "SetupError",
    "WeightsError",
    "WeightsNotFoundError",
    "WeightsMismatchError",
    "WeightsCorruptError",
    "WeightsWriteError",
    "ProtectedWeightsError",
    "DISTRIBUTIONS",
    "describe_setup_problem",
    "whole_number",
    "positive_int",
]

#: Import name -> the distribution to install (what pip calls it), for the libraries the series uses.
DISTRIBUTIONS = {
    "tensorflow": "tensorflow",
    "tf_keras": "tf-keras",
    "rl": "keras-rl2",
    "gymnasium": "gymnasium",
    "numpy": "numpy",
    "PIL": "pillow",
    "pygame": "pygame-ce",
    "matplotlib": "matplotlib",
    "IPython": "ipython",
    "packaging": "packaging",
}


class CartPoleDQNError(Exception):
    """Base class of every error the package raises on purpose, with a message that says what to do."""


class SetupError(CartPoleDQNError, ImportError):
    """A library the package needs is missing or broken (the doctor lists every piece and its fix)."""


class WeightsError(CartPoleDQNError):
    """Base class of every error about a weights file."""


class WeightsNotFoundError(WeightsError, FileNotFoundError):
    """There are no weights (or only part of them) at the given path."""


class WeightsMismatchError(WeightsError):
    """The weights were saved from a network with other layers or layer sizes."""


class WeightsCorruptError(WeightsError):
    """A weights file is truncated, damaged, or does not match its recorded SHA-256."""


class WeightsWriteError(WeightsError, OSError):
    """The weights cannot be written where asked (read-only, full disk, name too long, ...)."""


class ProtectedWeightsError(WeightsError, PermissionError):
    """An attempt to overwrite the shipped, pre-trained weights."""


class _WeightsPathError(WeightsError, ValueError):
    """A path that cannot name weights at all (empty, a folder)."""


class _WeightsExistError(WeightsError, FileExistsError):
    """Weights exist where a save was asked without ``overwrite=True``."""


def describe_setup_problem(exc: BaseException) -> str:
    """One sentence about why the stack could not be loaded: which library is missing or broken."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        top = exc.name.split(".")[0]
        if top in DISTRIBUTIONS:
            return f"the library {DISTRIBUTIONS[top]} is not installed (import {top!r} failed)."
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    return f"loading the libraries failed ({type(exc).__name__}: {text})."


def whole_number(value: object, name: str, who: str, minimum: int = 1) -> int:
    """``value`` as an ``int`` of at least ``minimum``, or a ``ValueError`` saying ``who`` needs ``name``.

    Accepts anything with ``__index__`` (``int``, NumPy integers) except ``bool``; refuses
    floats such as ``2.5`` and strings such as ``"10"``.
    """
    try:
        number = operator.index(value)
    except TypeError:
        number = minimum - 1
    if number < minimum or isinstance(value, bool):
        what = "a positive whole number" if minimum == 1 else f"a whole number of at least {minimum}"
        raise ValueError(f"{who} needs {what} for {name}, got {value!r}.")
    return number


def positive_int(value: object, name: str, who: str) -> int:
    """:func:`whole_number` with ``minimum=1``."""
    return whole_number(value, name, who)
