"""Saving and loading the Q-network's weights, with errors that say what to do (notebooks 03 and 04).

keras-rl2's ``dqn.save_weights("x.h5f")`` writes a TensorFlow checkpoint: two files,
``x.h5f.index`` (what is stored where) and ``x.h5f.data-00000-of-00001`` (the numbers),
and asks a question on standard input when they already exist. :func:`save_weights` and
:func:`load_weights` write and read the same files, and add what a workshop needs:

* nothing is ever asked on standard input: existing files raise ``FileExistsError`` unless
  ``overwrite=True``; the shipped, pre-trained agent (``weights/dqn_pretrained.h5f``) is never
  overwritten (:class:`ProtectedWeightsError`), wherever ``CARTPOLE_DQN_WEIGHTS_DIR`` points;
* a save goes to a staging folder first and the finished files are then renamed into place
  under a lock, so an interrupted save (Ctrl+C, SIGTERM, a full disk) leaves the previous files
  as they were, and a reader in another process sees either the old or the new weights;
* every save also writes a small JSON file next to the weights (``x.json`` for ``x.h5f``) with
  the package versions, each layer's shapes, width and activation, any ``metadata`` you pass,
  and the SHA-256 of each file;
* a load reads and checks the whole file *before* touching the model: a missing file
  (:class:`WeightsNotFoundError`), weights of a different network (:class:`WeightsMismatchError`,
  naming the layer and both shapes) and a damaged file (:class:`WeightsCorruptError`, also
  when the SHA-256 in the JSON file does not match) each raise an error that says what happened
  and what to do, and the model keeps its weights.

``path`` may name the checkpoint (``"x.h5f"``) or one of its files (``"x.h5f.index"``).
File mechanics (locks, staging, glob-safe reading) live in :mod:`cartpole_dqn.checkpoints`, the
network in a file (layers, activations, the fit check) in :mod:`cartpole_dqn.stored`, and the
error types in :mod:`cartpole_dqn.errors`.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from . import checkpoints
from .agent import session_of
from .checkpoints import data_files, file_sha256, index_file
from .errors import (
    ProtectedWeightsError,
    WeightsCorruptError,
    WeightsError,
    WeightsMismatchError,
    WeightsNotFoundError,
    WeightsWriteError,
    _WeightsExistError,
    _WeightsPathError,
)
from .paths import shown
from .settings import PROJECT_ROOT, WEIGHTS_DIR
from .stored import StoredWeights, check_fits, layer_records, network_of

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
#: The shipped agent inside the project itself: protected even when the settings point elsewhere.
_PROJECT_SHIPPED = PROJECT_ROOT / "weights" / "dqn_pretrained.h5f"

_HDF5_SUFFIXES = (".h5", ".hdf5", ".keras")
_CHECKPOINT_KEY = re.compile(r"^layer_with_weights-(\d+)/(.+)/\.ATTRIBUTES/VARIABLE_VALUE$")


# --------------------------------------------------------------------------------------------
# paths


def _as_path(path: str | os.PathLike | None, default: Path) -> Path:
    """The checkpoint prefix (``x.h5f``) for any of ``x.h5f``, ``x.h5f.index``, ``x.h5f.data-…``."""
    if path is None:
        return default
    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
        raise TypeError(f"The weights path must be a file name such as 'weights/dqn_weights.h5f', not {path!r}.")
    text = os.fspath(path)
    if text.strip() == "":
        raise _WeightsPathError("The weights path is empty; give a file name such as 'weights/dqn_weights.h5f'.")
    prefix = checkpoints.strip_file_suffix(Path(text).expanduser())
    if prefix.name in ("", ".", "..") or text.endswith(("/", os.sep)):
        raise _WeightsPathError(
            f"{text!r} names a folder, not a weights file; give a file name inside it, "
            f"such as {shown(Path(text) / 'dqn_weights.h5f')}."
        )
    if prefix.suffix.lower() in _HDF5_SUFFIXES:
        raise _WeightsPathError(
            f"{shown(prefix)} names Keras' single-file HDF5 format, which this series does not use; "
            f"name the weights {prefix.stem}.h5f instead (a TensorFlow checkpoint, like keras-rl2's)."
        )
    return prefix


def weight_files(path: str | os.PathLike | None = None) -> list[Path]:
    """The files that exist for the weights at ``path``: ``[x.h5f.index, x.h5f.data-…]``."""
    return checkpoints.checkpoint_files(_as_path(path, SHIPPED_WEIGHTS))


def metadata_path(path: str | os.PathLike | None = None) -> Path:
    """The JSON file next to the weights: ``x.json`` for ``x.h5f``, ``x.ckpt.json`` for other names."""
    prefix = _as_path(path, SHIPPED_WEIGHTS)
    if prefix.suffix.lower() == ".h5f":
        return prefix.with_suffix(".json")
    return prefix.with_name(prefix.name + ".json")


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same inode when both exist (any case rules, symlinks), else one real path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _same_checkpoint(a: Path, b: Path) -> bool:
    return any(
        _same_file(x, y)
        for x, y in (
            (index_file(a), index_file(b)),
            (a.with_name(a.name + ".data-00000-of-00001"), b.with_name(b.name + ".data-00000-of-00001")),
            (metadata_path(a), metadata_path(b)),
        )
    )


def _shipped_checksums() -> set[str]:
    """The SHA-256 of the project's shipped files, as recorded in its JSON (empty if unreadable)."""
    try:
        recorded = json.loads(metadata_path(_PROJECT_SHIPPED).read_text(encoding="utf-8")).get("sha256", {})
    except (OSError, ValueError, AttributeError):
        return set()
    return {value for value in recorded.values() if isinstance(value, str)} if isinstance(recorded, dict) else set()


def _is_shipped(prefix: Path) -> bool:
    """Whether ``prefix`` is the shipped agent: the configured one, the project's own, or a file with its bytes."""
    if any(_same_checkpoint(prefix, shipped) for shipped in (SHIPPED_WEIGHTS, _PROJECT_SHIPPED)):
        return True
    known = _shipped_checksums()
    if not known:
        return False
    # Another process may be saving here: under the shared lock its switch of the files is not
    # seen half done; where there is no lock (Windows), a file that vanishes is simply not ours.
    with checkpoints.locked(prefix, exclusive=False):
        return any(_sha256_if_present(file) in known for file in checkpoints.checkpoint_files(prefix))


def _sha256_if_present(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except FileNotFoundError:
        return None


def _how_to_get_good_weights(prefix: Path, missing: bool = False) -> str:
    if _is_shipped(prefix):
        if _same_file(SHIPPED_WEIGHTS.parent, _PROJECT_SHIPPED.parent):
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


def _read_metadata(prefix: Path) -> dict[str, Any] | None:
    """The JSON file next to the weights; None when it is missing (it is optional); an error when it is damaged."""
    where = metadata_path(prefix)
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise _corrupt_record(prefix, _one_line(exc)) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _corrupt_record(prefix, f"not valid JSON: {_one_line(exc)}") from None
    if not isinstance(data, dict):
        raise _corrupt_record(prefix, "not a JSON object")
    return data


def _corrupt_record(prefix: Path, reason: str) -> WeightsCorruptError:
    return WeightsCorruptError(
        f"The record {shown(metadata_path(prefix))} next to the weights is damaged ({reason}), so their checksums "
        f"cannot be checked. {_how_to_get_good_weights(prefix)}"
    )


def _weights_in(folder: Path) -> list[str]:
    """Names of the weights saved in a folder (for "did you mean" hints)."""
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(".index")] for p in folder.glob("*.index"))


def _not_found(prefix: Path) -> WeightsNotFoundError:
    fix = _how_to_get_good_weights(prefix, missing=True)
    if prefix.is_dir():
        found = _weights_in(prefix)
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
    elif found := _weights_in(prefix.parent):
        extra = f" (that folder has: {', '.join(found[:6])})"
    return WeightsNotFoundError(f"{what} at {shown(prefix)}: looked for {looked}{extra}. {fix}")


def _check_sha256(prefix: Path, files: list[Path], metadata: dict[str, Any] | None) -> None:
    recorded = (metadata or {}).get("sha256")
    if not isinstance(recorded, dict):
        return
    for file in files:
        expected = recorded.get(file.name)
        if isinstance(expected, str) and file_sha256(file) != expected.lower():
            raise WeightsCorruptError(
                f"The weights file {shown(file)} is damaged or was changed: its SHA-256 does not match the one "
                f"recorded in {shown(metadata_path(prefix))}. {_how_to_get_good_weights(prefix)}"
            )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _read_checkpoint(prefix: Path, files: list[Path]) -> list[tuple[str, dict[str, np.ndarray]]]:
    try:
        with checkpoints.plain_copy(prefix, files) as readable:
            reader = tf.train.load_checkpoint(str(readable))
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
    if not grouped and keys:
        raise WeightsMismatchError(
            f"{shown(prefix)} is a TensorFlow checkpoint but holds no Keras layer weights. "
            "Save a model's weights with save_weights(dqn, path) and load those."
        )
    return [(f"layer_with_weights-{k}", grouped[k]) for k in sorted(grouped)]


def read_weights(path: str | os.PathLike | None = None) -> StoredWeights:
    """Read and check the weights at ``path`` (default: the shipped ones), without a Keras model.

    Raises :class:`WeightsNotFoundError` or :class:`WeightsCorruptError` (also when the SHA-256
    recorded in the JSON file next to the weights does not match, or that file is not valid
    JSON). Used by :func:`load_weights` and by :func:`cartpole_dqn.deploy.load_controller`.
    """
    prefix = _as_path(path, SHIPPED_WEIGHTS)
    with checkpoints.locked(prefix, exclusive=False):  # a save in another process switches all files at once
        index, data = index_file(prefix), data_files(prefix)
        if not index.is_file() and not data:
            raise _not_found(prefix)
        if not index.is_file() or not data:
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
        files = [index, *data]
        metadata = _read_metadata(prefix)
        _check_sha256(prefix, files, metadata)
        layers = _read_checkpoint(prefix, files)
    return StoredWeights(prefix, "tensorflow-checkpoint", layers, metadata)


def load_weights(agent_or_model, path: str | os.PathLike | None = None):
    """Load weights into a DQN agent or a Keras model (notebooks 03 and 04); default: the shipped agent.

    Everything is read and checked first; only then are the model's weights replaced, so on
    any error the model is unchanged. For an agent the target network gets the same weights
    (like keras-rl2's ``dqn.load_weights``). Returns ``agent_or_model``.
    """
    model = network_of(agent_or_model, "load_weights")
    stored = read_weights(path)
    with session_of(model):
        arrays = check_fits(stored, model)
        model.set_weights(arrays)
        target = getattr(agent_or_model, "target_model", None)
        if target is not None and target is not model:
            target.set_weights(model.get_weights())
    return agent_or_model


# --------------------------------------------------------------------------------------------
# writing


def _write_problem(prefix: Path, exc: OSError) -> str:
    """What an ``OSError`` met while writing means for a learner, in a few words."""
    number = getattr(exc, "errno", None)
    blocking = next((p for p in prefix.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        return f"{shown(blocking)} is a file, not a folder; choose a path inside a folder"
    if number == errno.ENAMETOOLONG:
        return f"the name {prefix.name!r} is too long for this filesystem; choose a shorter one"
    if number in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "that folder is read-only for you; choose a folder you can write to, or fix its permissions"
    if number in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return "the disk is full (or a size limit was reached); free some space or choose another disk"
    return f"{exc.strerror or exc}; check the path and that you may write there"


def _check_save_path(prefix: Path, overwrite: bool, allow_shipped: bool) -> Path:
    if not allow_shipped and _is_shipped(prefix):
        raise ProtectedWeightsError(
            f"{shown(prefix)} holds the shipped pre-trained agent, which the notebooks rely on, so it is never "
            f"overwritten. Save under another name, such as {shown(DEFAULT_WEIGHTS)}."
        )
    if prefix.is_dir():
        raise _WeightsPathError(
            f"{shown(prefix)} is a folder; give a file name inside it, such as {shown(prefix / 'dqn_weights.h5f')}."
        )
    if weight_files(prefix) and not overwrite:
        raise _WeightsExistError(
            f"Weights already exist at {shown(prefix)}; pass overwrite=True or choose another name."
        )
    names = [index_file(prefix).name, prefix.name + ".data-00000-of-00001", metadata_path(prefix).name]
    try:
        checkpoints.probe_writable(prefix, names)
    except OSError as exc:
        raise WeightsWriteError(f"Cannot save weights at {shown(prefix)}: {_write_problem(prefix, exc)}.") from None
    return prefix


def check_save_path(path: str | os.PathLike | None = None, overwrite: bool = False) -> Path:
    """Raise now what :func:`save_weights` would raise about ``path`` (before a long training run).

    Checks the shipped agent's protection, existing files, and that the folder can really be
    written (it writes and removes empty files there). Returns the checkpoint prefix.
    """
    return _check_save_path(_as_path(path, DEFAULT_WEIGHTS), overwrite, allow_shipped=False)


def _versions() -> dict[str, str]:
    versions = {"python": ".".join(map(str, sys.version_info[:3]))}
    for name in ("tensorflow", "tf-keras", "keras-rl2", "gymnasium", "numpy"):
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(
        f"metadata must hold only numbers, strings, lists and dicts; {type(value).__name__} cannot be written to JSON."
    )


def _write_checkpoint(model, staging: Path, prefix: Path) -> list[Path]:
    """Save the model's weights into ``staging`` under the final file names; return those files."""
    plain = staging if not checkpoints.has_glob_characters(staging) else Path(tempfile.mkdtemp(prefix="cartpole-dqn-"))
    try:
        model.save_weights(str(plain / "w"))
        written = [index_file(plain / "w"), *data_files(plain / "w")]
        files = []
        for file in written:
            target = staging / (prefix.name + file.name[1:])
            if plain == staging:
                os.replace(file, target)
            else:
                shutil.copyfile(file, target)
            files.append(target)
        return files
    finally:
        if plain != staging:
            shutil.rmtree(plain, ignore_errors=True)
        (staging / "checkpoint").unlink(missing_ok=True)  # tf-keras' bookkeeping file


def _save(agent_or_model, prefix: Path, overwrite: bool, metadata: dict[str, Any] | None, allow_shipped: bool) -> Path:
    model = network_of(agent_or_model, "save_weights")
    _check_save_path(prefix, overwrite, allow_shipped)
    info: dict[str, Any] = {
        "weights": prefix.name,
        "format": "tensorflow-checkpoint",
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "layers": layer_records(model),
        "versions": _versions(),
    }
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict of JSON-friendly values, not {type(metadata).__name__}.")
    if reserved := sorted(set(metadata or {}) & {*info, "sha256"}):
        raise ValueError(
            f"metadata may not set {', '.join(reserved)}: the record fills those in itself. Use other key names."
        )
    info.update(metadata or {})
    json.dumps(info, default=_json_default)  # refuse metadata that cannot be written, before writing anything
    staging = None
    try:
        staging = Path(tempfile.mkdtemp(prefix=".save-", dir=prefix.parent))
        new_files = _write_checkpoint(model, staging, prefix)
        info["sha256"] = {file.name: file_sha256(file) for file in new_files}
        record = staging / metadata_path(prefix).name
        record.write_text(json.dumps(info, indent=2, default=_json_default) + "\n", encoding="utf-8")
        moves = [(file, prefix.parent / file.name) for file in new_files] + [(record, metadata_path(prefix))]
        checkpoints.move_into_place(moves, staging, prefix)
    except (OSError, tf.errors.OpError) as exc:
        reason = _write_problem(prefix, exc) if isinstance(exc, OSError) else _one_line(exc)
        raise WeightsWriteError(
            f"Saving the weights to {shown(prefix)} failed ({reason}); the previous files, if any, are unchanged."
        ) from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return prefix


def save_weights(
    agent_or_model,
    path: str | os.PathLike | None = None,
    overwrite: bool = False,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Save the weights of a DQN agent or Keras model (notebook 03); return the checkpoint path.

    ``path`` defaults to ``weights/dqn_weights.h5f``. Existing weights are replaced only with
    ``overwrite=True``; the shipped pre-trained weights never. Writes ``<name>.json`` next to the
    weights with the versions, each layer's shapes, width and activation, the SHA-256 of the
    files, and ``metadata`` (a JSON-friendly dict).
    """
    with session_of(agent_or_model):
        return _save(agent_or_model, _as_path(path, DEFAULT_WEIGHTS), overwrite, metadata, allow_shipped=False)


def _save_shipped(agent_or_model, metadata: dict[str, Any], path: str | os.PathLike | None = None) -> Path:
    """Replace the shipped agent (``scripts/make_pretrained.py`` only; tests pass a temporary ``path``)."""
    return _save(agent_or_model, _as_path(path, SHIPPED_WEIGHTS), True, metadata, allow_shipped=True)
