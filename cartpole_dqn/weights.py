"""Saving and loading the Q-network's weights, with errors that say what to do (notebooks 03 and 04).

A checkpoint ``x.h5f`` is keras-rl2's TensorFlow checkpoint (``x.h5f.index`` and
``x.h5f.data-00000-of-00001``) plus the JSON record ``x.json``: versions, each layer's shapes, width
and activation, your ``metadata``, and the SHA-256 of both parts. Files go through the one write
and read path of :mod:`cartpole_dqn.checkpoints` (names end in ``.h5f``; existing files need
``overwrite=True``; the shipped agent is never written). A load reads and checks everything
*before* touching the model: missing files (:class:`WeightsNotFoundError`), another network
(:class:`WeightsMismatchError`, naming the layer and both shapes), damage, a mix of two saves or
non-finite numbers (:class:`WeightsCorruptError`). NaN or infinite weights are never saved.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from . import checkpoints
from .agent import session_of
from .checkpoints import data_files, file_sha256, index_file
from .errors import (
    NonFiniteWeightsError,
    ProtectedWeightsError,
    WeightsCorruptError,
    WeightsError,
    WeightsMismatchError,
    WeightsNotFoundError,
    WeightsWriteError,
    _WeightsPathError,
)
from .paths import shown
from .settings import PROJECT_ROOT, WEIGHTS_DIR
from .stored import StoredWeights, check_fits, json_default, network_of, new_record

__all__ = [
    "SHIPPED_WEIGHTS",
    "SHIPPED_METADATA",
    "DEFAULT_WEIGHTS",
    "WeightsError",
    "WeightsNotFoundError",
    "WeightsMismatchError",
    "WeightsCorruptError",
    "WeightsWriteError",
    "ProtectedWeightsError",
    "NonFiniteWeightsError",
    "StoredWeights",
    "save_weights",
    "load_weights",
    "read_weights",
    "check_save_path",
    "weight_files",
    "metadata_path",
    "file_sha256",
]

#: The pre-trained agent shipped with the series (a TensorFlow checkpoint: ``.index`` + ``.data-…``).
SHIPPED_WEIGHTS: Path = WEIGHTS_DIR / "dqn_pretrained.h5f"
#: Versions, seed, steps, test score and SHA-256 of the shipped checkpoint's files.
SHIPPED_METADATA: Path = WEIGHTS_DIR / "dqn_pretrained.json"
#: Where notebook 03 and ``python -m cartpole_dqn train`` save a learner's own agent.
DEFAULT_WEIGHTS: Path = WEIGHTS_DIR / "dqn_weights.h5f"

_HDF5_SUFFIXES = (".h5", ".hdf5", ".keras")
_CHECKPOINT_KEY = re.compile(r"^layer_with_weights-(\d+)/(.+)/\.ATTRIBUTES/VARIABLE_VALUE$")
_RECORD_BYTES = 1 << 20


def _as_path(path: str | os.PathLike | None, default: Path) -> Path:
    """The checkpoint prefix (``x.h5f``) for any of ``x.h5f``, ``x.h5f.index``, ``x.h5f.data-…``; a folder as is."""
    if path is None:
        return default
    if isinstance(path, str | os.PathLike) and os.fspath(path).strip() and os.path.isdir(os.fspath(path)):
        return Path(os.path.abspath(path))  # the callers say what the folder holds
    prefix = checkpoints.named(path, "", "weights/dqn_weights.h5f")
    prefix = checkpoints.strip_file_suffix(prefix)
    if prefix.suffix.lower() in _HDF5_SUFFIXES:
        raise _WeightsPathError(
            f"{shown(prefix)} names Keras' single-file HDF5 format, which this series does not use; "
            f"name the weights {prefix.stem}.h5f instead (a TensorFlow checkpoint, like keras-rl2's)."
        )
    return checkpoints.named(prefix, ".h5f", "weights/dqn_weights.h5f")


def weight_files(path: str | os.PathLike | None = None) -> list[Path]:
    """The files that exist for the weights at ``path``: ``[x.h5f.index, x.h5f.data-…]``."""
    return checkpoints.checkpoint_files(_as_path(path, SHIPPED_WEIGHTS))


def metadata_path(path: str | os.PathLike | None = None) -> Path:
    """The JSON record next to the weights: ``x.json`` for ``x.h5f`` (one record per checkpoint name)."""
    return _as_path(path, SHIPPED_WEIGHTS).with_suffix(".json")


def _parts(prefix: Path) -> list[Path]:
    return [index_file(prefix), *(data_files(prefix) or [prefix.with_name(prefix.name + ".data-00000-of-00001")])]


def _is_shipped(prefix: Path) -> bool:
    if os.path.isdir(prefix):
        return False
    return any(checkpoints.is_shipped(file) for file in [*_parts(prefix), prefix.with_suffix(".json")])


def _how_to_get_good_weights(prefix: Path, missing: bool = False) -> str:
    if _is_shipped(prefix):
        if os.path.realpath(SHIPPED_WEIGHTS.parent) == os.path.realpath(PROJECT_ROOT / "weights"):
            return "Restore the shipped weights with `git checkout weights/` in the project folder."
        return (
            f"CARTPOLE_DQN_WEIGHTS_DIR points to {shown(SHIPPED_WEIGHTS.parent)}: copy the project's weights/ folder "
            "there, or unset that variable to use the project's own."
        )
    train = "Train and save an agent first" if missing else "Train and save the agent again"
    return (
        f"{train} (notebook 03, or `python -m cartpole_dqn train`), or use the shipped agent at "
        f"{shown(SHIPPED_WEIGHTS)} (restore it with `git checkout weights/`)."
    )


# --------------------------------------------------------------------------------------------
# reading


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _read(prefix: Path, file: Path, limit: int = checkpoints.MAX_BYTES) -> bytes:
    try:
        return checkpoints.read(file, limit)
    except OSError as exc:
        raise WeightsCorruptError(
            f"Cannot read {shown(file)}: {checkpoints.read_problem(exc)}. {_how_to_get_good_weights(prefix)}"
        ) from None


def _read_record(prefix: Path) -> dict[str, Any] | None:
    """The JSON record next to the weights; None when there is none (it is optional); an error when it is damaged."""
    where = prefix.with_suffix(".json")
    if not os.path.lexists(where):
        return None
    try:
        data = json.loads(_read(prefix, where, _RECORD_BYTES).decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise WeightsCorruptError(
            f"The record {shown(where)} next to the weights is damaged (not valid JSON: {_one_line(exc)}), so their "
            f"checksums cannot be checked. {_how_to_get_good_weights(prefix)}"
        ) from None
    if not isinstance(data, dict):
        raise WeightsCorruptError(
            f"The record {shown(where)} is damaged (not a JSON object). {_how_to_get_good_weights(prefix)}"
        )
    return data


def _not_found(prefix: Path) -> WeightsNotFoundError:
    fix = _how_to_get_good_weights(prefix, missing=True)
    if prefix.is_dir():
        found = sorted(p.name[: -len(".index")] for p in prefix.glob("*.index"))
        example = prefix / (found[0] if found else "dqn_weights.h5f")
        has = f" (it holds: {', '.join(found[:6])})" if found else " (there are no weights in it)"
        return WeightsNotFoundError(
            f"{shown(prefix)} is a folder, not a weights file{has}. Give the file name, such as {shown(example)}."
        )
    looked = f"{shown(index_file(prefix))} and {shown(prefix)}.data-00000-of-00001"
    what = "The shipped pre-trained weights are not" if _is_shipped(prefix) else "There are no weights"
    extra = ""
    if prefix.is_file():
        extra = f" ({shown(prefix)} itself is a single file; a checkpoint is the two files named above)"
    elif found := sorted(p.name[: -len(".index")] for p in prefix.parent.glob("*.index")):
        extra = f" (that folder has: {', '.join(found[:6])})"
    return WeightsNotFoundError(f"{what} at {shown(prefix)}: looked for {looked}{extra}. {fix}")


def _read_once(prefix: Path) -> StoredWeights:
    if prefix.is_dir():
        raise _not_found(prefix)
    index, data = index_file(prefix), data_files(prefix)
    if not os.path.lexists(index) and not data:
        raise _not_found(prefix)
    if not os.path.lexists(index) or not data:
        present, missing = (
            (shown(data[0]), shown(index)) if data else (shown(index), f"{shown(prefix)}.data-00000-of-00001")
        )
        fix = (
            "Restore them with `git checkout weights/`."
            if _is_shipped(prefix)
            else "Copy both files together, or train and save the agent again (notebook 03)."
        )
        raise WeightsNotFoundError(
            f"Only half of the weights at {shown(prefix)} is there: {present} exists but {missing} is missing "
            f"(a checkpoint needs both files). {fix}"
        )
    record = _read_record(prefix)
    parts = {file.name: _read(prefix, file) for file in [index, *data]}
    recorded = (record or {}).get("sha256")
    if isinstance(recorded, dict):
        if set(recorded) != set(parts):
            raise WeightsCorruptError(
                f"The weights at {shown(prefix)} do not match their record {shown(prefix.with_suffix('.json'))}: it lists "
                f"{', '.join(sorted(recorded))}, the folder holds {', '.join(sorted(parts))}. {_how_to_get_good_weights(prefix)}"
            )
        for name, content in parts.items():
            if hashlib.sha256(content).hexdigest() != str(recorded[name]).lower():
                raise WeightsCorruptError(
                    f"The weights file {shown(prefix.parent / name)} is damaged or was changed: its SHA-256 does not "
                    f"match the one recorded in {shown(prefix.with_suffix('.json'))}. {_how_to_get_good_weights(prefix)}"
                )
    layers = _parse_checkpoint(prefix, parts)
    if not all(np.isfinite(array).all() for _, layer in layers for array in layer.values()):
        raise WeightsCorruptError(
            f"The weights at {shown(prefix)} hold NaN or infinite numbers (the training that made them diverged), "
            f"so they cannot choose actions. {_how_to_get_good_weights(prefix)}"
        )
    return StoredWeights(prefix, "tensorflow-checkpoint", layers, record)


def _parse_checkpoint(prefix: Path, parts: dict[str, bytes]) -> list[tuple[str, dict[str, np.ndarray]]]:
    """The layer arrays of a checkpoint, read by TensorFlow from a private copy under a plain name."""
    scratch = Path(tempfile.mkdtemp(prefix="cartpole-dqn-read-"))
    try:
        for name, content in parts.items():  # a private scratch copy, deleted below (TensorFlow reads names as globs)
            (scratch / ("w" + name[len(prefix.name) :])).write_bytes(content)
        reader = tf.train.load_checkpoint(str(scratch / "w"))
        keys = reader.get_variable_to_shape_map()
        grouped: dict[int, dict[str, np.ndarray]] = {}
        for key in sorted(keys):
            match = _CHECKPOINT_KEY.match(key)
            if match and "/." not in match.group(2):  # skip optimizer slots and other bookkeeping
                grouped.setdefault(int(match.group(1)), {})[match.group(2)] = np.asarray(reader.get_tensor(key))
    except (tf.errors.OpError, IndexError, ValueError, OSError) as exc:
        raise WeightsCorruptError(
            f"The weights at {shown(prefix)} are damaged and cannot be read ({_one_line(exc)}). "
            f"{_how_to_get_good_weights(prefix)}"
        ) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not grouped and keys:
        raise WeightsMismatchError(
            f"{shown(prefix)} is a TensorFlow checkpoint but holds no Keras layer weights. "
            "Save a model's weights with save_weights(dqn, path) and load those."
        )
    return [(f"layer_with_weights-{k}", grouped[k]) for k in sorted(grouped)]


def read_weights(path: str | os.PathLike | None = None) -> StoredWeights:
    """Read and check the weights at ``path`` (default: the shipped ones), without a Keras model.

    Raises :class:`WeightsNotFoundError` or :class:`WeightsCorruptError` (also when the files do
    not match their record). A save in another process switches the files in milliseconds: a
    read that sees a mix tries again for up to a second while that save's staging folder exists.
    After a save that was killed midway, the error names the folder that holds its new files.
    """
    prefix = _as_path(path, SHIPPED_WEIGHTS)
    deadline, first = time.monotonic() + 1.0, True
    while True:
        try:
            return _read_once(prefix)
        except (WeightsNotFoundError, WeightsCorruptError) as exc:
            left = checkpoints.leftovers(prefix)
            if (first or left) and time.monotonic() < deadline:  # a save may have switched the files mid-read
                first = False
                time.sleep(0.05)
                continue
            if not left:
                raise
            names = ", ".join(sorted(p.name for p in left[-1].iterdir())) or "nothing"
            raise type(exc)(
                f"A save to {shown(prefix)} was interrupted before it finished: the files it had not yet put in place "
                f"are in {shown(left[-1])} ({names}); move them next to {prefix.name} to finish that save. "
                f"(What the load met: {_one_line(exc)})"
            ) from None


def load_weights(agent_or_model, path: str | os.PathLike | None = None):
    """Load weights into a DQN agent or a Keras model (notebooks 03 and 04); default: the shipped agent.

    Everything is read and checked first; only then are the model's weights replaced, so on
    any error the model is unchanged. For an agent the target network gets the same weights
    (like keras-rl2's ``dqn.load_weights``). Returns ``agent_or_model``.
    """
    model = network_of(agent_or_model, "load_weights")
    stored = read_weights(path)
    with session_of(model):
        model.set_weights(check_fits(stored, model))
        target = getattr(agent_or_model, "target_model", None)
        if target is not None and target is not model:
            target.set_weights(model.get_weights())
    return agent_or_model


# --------------------------------------------------------------------------------------------
# writing


def _check_save_path(prefix: Path, overwrite: bool, protect: bool) -> Path:
    """The one write path's checks (shipped agent, existing files, regular files, a writable folder), without writing."""
    if os.path.isdir(prefix):  # not Path.is_dir: it raises on a name too long, which the write path explains
        raise _WeightsPathError(
            f"{shown(prefix)} is a folder; give a file name inside it, such as {shown(prefix / 'dqn_weights.h5f')}."
        )
    files = [(file, b"") for file in [*_parts(prefix), prefix.with_suffix(".json")]]
    checkpoints.put(files, overwrite, name=prefix, protect=protect, dry_run=True)
    return prefix


def check_save_path(path: str | os.PathLike | None = None, overwrite: bool = False) -> Path:
    """Raise now what :func:`save_weights` would raise about ``path`` (before a long training run).

    Checks the name, the shipped agent's protection, existing files, and that the folder can
    really be written (it writes and removes empty files there). Returns the checkpoint prefix.
    """
    return _check_save_path(_as_path(path, DEFAULT_WEIGHTS), overwrite, protect=True)


def _save(agent_or_model, prefix: Path, overwrite: bool, metadata: dict[str, Any] | None, protect: bool) -> Path:
    model = network_of(agent_or_model, "save_weights")
    if not all(np.isfinite(array).all() for array in model.get_weights()):
        raise NonFiniteWeightsError(
            "The model's weights are not finite (NaN or infinite numbers): the training diverged, so they were "
            "not saved. Train again with a lower learning rate (e.g. learning_rate=1e-3)."
        )
    info = new_record(model, prefix.name, metadata)
    _check_save_path(prefix, overwrite, protect)
    scratch = Path(tempfile.mkdtemp(prefix="cartpole-dqn-save-"))
    try:  # TensorFlow writes into a private scratch folder; the files then go through the one write path
        model.save_weights(str(scratch / "w"))
        parts = [(prefix.parent / (prefix.name + f.name[1:]), checkpoints.read(f)) for f in data_files(scratch / "w")]
        parts.append((index_file(prefix), checkpoints.read(index_file(scratch / "w"))))
    except (OSError, tf.errors.OpError) as exc:
        reason = checkpoints.write_problem(prefix, exc) if isinstance(exc, OSError) else _one_line(exc)
        raise WeightsWriteError(
            f"Saving the weights to {shown(prefix)} failed ({reason}); the previous files, if any, are unchanged."
        ) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    info["sha256"] = {path.name: hashlib.sha256(content).hexdigest() for path, content in parts}
    record = (json.dumps(info, indent=2, default=json_default) + "\n").encode("utf-8")
    new = {path.name for path, _ in parts}
    stale = [file for file in data_files(prefix) if file.name not in new]
    checkpoints.put([*parts, (prefix.with_suffix(".json"), record)], overwrite, name=prefix, protect=protect)
    for file in stale:  # shards of an earlier save with more of them
        file.unlink(missing_ok=True)
    return prefix


def save_weights(
    agent_or_model,
    path: str | os.PathLike | None = None,
    overwrite: bool = False,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Save the weights of a DQN agent or Keras model (notebook 03); return the checkpoint path.

    ``path`` defaults to ``weights/dqn_weights.h5f`` and must end in ``.h5f``. Existing weights
    are replaced only with ``overwrite=True``; the shipped pre-trained weights never. Writes
    ``<name>.json`` next to the weights with the versions, each layer's shapes, width and
    activation, the SHA-256 of the files, and ``metadata`` (a JSON-friendly dict).
    """
    with session_of(agent_or_model):
        return _save(agent_or_model, _as_path(path, DEFAULT_WEIGHTS), overwrite, metadata, protect=True)


def _save_shipped(agent_or_model, metadata: dict[str, Any], path: str | os.PathLike | None = None) -> Path:
    """Replace the shipped agent (``scripts/make_pretrained.py`` only; tests pass a temporary ``path``)."""
    return _save(agent_or_model, _as_path(path, SHIPPED_WEIGHTS), True, metadata, protect=False)
