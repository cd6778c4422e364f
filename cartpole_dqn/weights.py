"""Saving and loading the Q-network's weights, with errors that say what to do (notebooks 03 and 04).

keras-rl2's ``dqn.save_weights("x.h5f")`` writes a TensorFlow checkpoint: two files,
``x.h5f.index`` (what is stored where) and ``x.h5f.data-00000-of-00001`` (the numbers),
and asks a question on standard input when they already exist. :func:`save_weights` and
:func:`load_weights` write and read the same files, and add what a workshop needs:

* nothing is ever asked on standard input: existing files raise ``FileExistsError`` unless
  ``overwrite=True``; the shipped, pre-trained agent (``weights/dqn_pretrained.h5f``) is never
  overwritten (:class:`ProtectedWeightsError`);
* a save goes to a temporary folder first and the finished files are then renamed into place,
  so an interrupted save (Ctrl+C, a full disk) leaves the previous files as they were;
* every save also writes a small JSON file next to the weights (``x.json`` for ``x.h5f``) with
  the package versions, the layer shapes, any ``metadata`` you pass, and the SHA-256 of each file;
* a load reads and checks the whole file *before* touching the model: a missing file
  (:class:`WeightsNotFoundError`), weights of a different network (:class:`WeightsMismatchError`,
  naming the layer and both shapes) and a damaged file (:class:`WeightsCorruptError`, also
  when the SHA-256 in the JSON file does not match) each raise an error that says what happened
  and what to do, and the model keeps its weights.

``path`` may name the checkpoint (``"x.h5f"``) or one of its files (``"x.h5f.index"``).
A path ending in ``.h5`` (or ``.hdf5``) uses Keras' single-file HDF5 format instead, with the same
checks; that is what many older tutorials save.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from . import compat

compat.apply()

import tensorflow as tf  # noqa: E402

from .settings import PROJECT_ROOT, WEIGHTS_DIR  # noqa: E402

__all__ = [
    "SHIPPED_WEIGHTS",
    "SHIPPED_METADATA",
    "DEFAULT_WEIGHTS",
    "WeightsError",
    "WeightsNotFoundError",
    "WeightsMismatchError",
    "WeightsCorruptError",
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

_H5_SUFFIXES = (".h5", ".hdf5")
_DATA_SUFFIX = re.compile(r"\.data-\d{5}-of-\d{5}$")
_CHECKPOINT_KEY = re.compile(r"^layer_with_weights-(\d+)/(.+)/\.ATTRIBUTES/VARIABLE_VALUE$")


class WeightsError(Exception):
    """Base class of every error about a weights file."""


class WeightsNotFoundError(WeightsError, FileNotFoundError):
    """There are no weights (or only part of them) at the given path."""


class WeightsMismatchError(WeightsError):
    """The weights were saved from a network with other layers or layer sizes."""


class WeightsCorruptError(WeightsError):
    """A weights file is truncated, damaged, or does not match its recorded SHA-256."""


class ProtectedWeightsError(WeightsError, PermissionError):
    """An attempt to overwrite the shipped, pre-trained weights."""


# --------------------------------------------------------------------------------------------
# paths


def _as_path(path: str | os.PathLike | None, default: Path) -> Path:
    """The checkpoint prefix (``x.h5f``) for any of ``x.h5f``, ``x.h5f.index``, ``x.h5f.data-…``."""
    if path is None:
        return default
    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
        raise TypeError(f"The weights path must be a file name such as 'weights/dqn_weights.h5f', not {path!r}.")
    if str(path).strip() == "":
        raise ValueError("The weights path is empty; give a file name such as 'weights/dqn_weights.h5f'.")
    prefix = Path(path).expanduser()
    name = prefix.name
    if name.endswith(".index"):
        prefix = prefix.with_name(name[: -len(".index")])
    elif match := _DATA_SUFFIX.search(name):
        prefix = prefix.with_name(name[: match.start()])
    return prefix


def _is_h5(prefix: Path) -> bool:
    return prefix.suffix.lower() in _H5_SUFFIXES


def _index_file(prefix: Path) -> Path:
    return prefix.with_name(prefix.name + ".index")


def _data_files(prefix: Path) -> list[Path]:
    pattern = os.path.join(glob.escape(str(prefix.parent)), glob.escape(prefix.name) + ".data-?????-of-?????")
    return sorted(Path(p) for p in glob.glob(pattern))


def weight_files(path: str | os.PathLike | None = None) -> list[Path]:
    """The files that exist for the weights at ``path``: ``[x.h5f.index, x.h5f.data-…]`` or ``[x.h5]``."""
    prefix = _as_path(path, SHIPPED_WEIGHTS)
    if _is_h5(prefix):
        return [prefix] if prefix.is_file() else []
    index = _index_file(prefix)
    return ([index] if index.is_file() else []) + _data_files(prefix)


def metadata_path(path: str | os.PathLike | None = None) -> Path:
    """The JSON file next to the weights: ``x.json`` for ``x.h5f``, ``x.h5.json`` for ``x.h5``."""
    prefix = _as_path(path, SHIPPED_WEIGHTS)
    if prefix.suffix.lower() == ".h5f":
        return prefix.with_suffix(".json")
    return prefix.with_name(prefix.name + ".json")


def _shown(path: Path) -> str:
    """A path as a learner best recognises it: relative to the working folder when inside it."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def _same_place(a: Path, b: Path) -> bool:
    # casefold: on macOS and Windows laptops "DQN_Pretrained.h5f" is the same file
    return os.path.realpath(a).casefold() == os.path.realpath(b).casefold()


def _is_shipped(prefix: Path) -> bool:
    shipped = _as_path(SHIPPED_WEIGHTS, SHIPPED_WEIGHTS)
    return _same_place(prefix, shipped) or _same_place(metadata_path(prefix), SHIPPED_METADATA)


def _how_to_get_good_weights(prefix: Path, missing: bool = False) -> str:
    if _is_shipped(prefix):
        if _same_place(SHIPPED_WEIGHTS.parent, PROJECT_ROOT / "weights"):
            return "Restore the shipped weights with `git checkout weights/` in the project folder."
        return (
            f"CARTPOLE_DQN_WEIGHTS_DIR points to {_shown(SHIPPED_WEIGHTS.parent)}: copy the project's weights/ folder "
            "there, or unset that variable to use the project's own."
        )
    train = "Train and save an agent first" if missing else "Train and save the agent again"
    return (
        f"{train} (notebook 03, or `python -m cartpole_dqn train`), or use the shipped agent at "
        f"{_shown(SHIPPED_WEIGHTS)} (restore it with `git checkout weights/`)."
    )


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, as 64 hexadecimal digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# models and agents


def _keras_model(agent_or_model, action: str):
    """The Keras model of a DQNAgent, or the model itself; a clear TypeError for anything else."""
    model = agent_or_model
    if not isinstance(model, tf.keras.Model):
        model = getattr(agent_or_model, "model", None)
    if not isinstance(model, tf.keras.Model):
        raise TypeError(
            f"{action} needs a DQN agent or a Keras model (e.g. from build_model), not {type(agent_or_model).__name__}."
        )
    if not model.weights:
        raise ValueError(
            f"This model has no weights yet, so there is nothing to {action.split('_')[0]}. "
            "Build it with build_model(states, actions), which gives it an input shape."
        )
    return model


def _attribute(variable_name: str) -> str:
    """``'dense_1/kernel:0'`` -> ``'kernel'``: the name a checkpoint stores the variable under."""
    return variable_name.split(":")[0].split("/")[-1]


def _model_layers(model) -> list[tuple[str, list[tuple[str, tuple[int, ...]]]]]:
    return [
        (layer.name, [(_attribute(w.name), tuple(int(d) for d in w.shape)) for w in layer.weights])
        for layer in model.layers
        if layer.weights
    ]


# --------------------------------------------------------------------------------------------
# reading


@dataclass(frozen=True)
class StoredWeights:
    """The weights in a file, read and checked, without any Keras model.

    ``layers`` lists the layers that have weights, in order, as ``(name, {attribute: array})``
    (``name`` is ``layer_with_weights-<k>`` for a TensorFlow checkpoint, which does not keep
    layer names). ``metadata`` is the JSON file next to the weights, if there is one.
    """

    path: Path
    format: str
    layers: list[tuple[str, dict[str, np.ndarray]]]
    metadata: dict[str, Any] | None = field(default=None, repr=False)

    def build_model_call(self) -> str | None:
        """``"build_model(4, 2, hidden=24)"`` when the file fits :func:`~cartpole_dqn.build_model`, else None."""
        try:
            shapes = [(layer["kernel"].shape, layer["bias"].shape) for _, layer in self.layers]
        except KeyError:
            return None
        if len(shapes) != 3 or any(len(k) != 2 or len(b) != 1 or k[1] != b[0] for k, b in shapes):
            return None
        (states, hidden), (h1, h2), (h3, actions) = (k for k, _ in shapes)
        if not (hidden == h1 == h2 == h3):
            return None
        return f"build_model({states}, {actions}, hidden={hidden})"

    def dense_stack(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``[(kernel, bias), ...]`` of a stack of Dense layers, checked to chain together."""
        stack = []
        for name, layer in self.layers:
            if set(layer) != {"kernel", "bias"}:
                raise WeightsMismatchError(
                    f"The weights in {_shown(self.path)} are not a stack of Dense layers "
                    f"({name} holds {', '.join(sorted(layer))}). Use weights saved from build_model(states, actions)."
                )
            kernel, bias = layer["kernel"], layer["bias"]
            if (
                kernel.ndim != 2
                or bias.shape != (kernel.shape[1],)
                or (stack and stack[-1][0].shape[1] != kernel.shape[0])
            ):
                raise WeightsMismatchError(
                    f"The weights in {_shown(self.path)} do not form one chain of Dense layers "
                    f"({name} has a kernel of shape {kernel.shape} and a bias of shape {bias.shape}). "
                    "Use weights saved from build_model(states, actions)."
                )
            stack.append((kernel, bias))
        if not stack:
            raise WeightsMismatchError(
                f"There are no layer weights in {_shown(self.path)}. Save a model's weights there first."
            )
        return stack


def _read_metadata(prefix: Path) -> dict[str, Any] | None:
    """The JSON file next to the weights, or None when it is missing or unreadable (it is optional)."""
    try:
        data = json.loads(metadata_path(prefix).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _weights_in(folder: Path) -> list[str]:
    """Names of the weights saved in a folder (for "did you mean" hints)."""
    if not folder.is_dir():
        return []
    names = sorted(p.name[: -len(".index")] for p in folder.glob("*.index"))
    return names + sorted(p.name for p in folder.iterdir() if p.suffix.lower() in _H5_SUFFIXES)


def _not_found(prefix: Path) -> WeightsNotFoundError:
    fix = _how_to_get_good_weights(prefix, missing=True)
    if prefix.is_dir():
        found = _weights_in(prefix)
        example = prefix / (found[0] if found else "dqn_weights.h5f")
        has = f" (it holds: {', '.join(found[:6])})" if found else " (there are no weights in it)"
        return WeightsNotFoundError(
            f"{_shown(prefix)} is a folder, not a weights file{has}. Give the file name, such as {_shown(example)}."
        )
    if _is_h5(prefix):
        looked = _shown(prefix)
    else:
        looked = f"{_shown(_index_file(prefix))} and {_shown(prefix)}.data-00000-of-00001"
    what = "The shipped pre-trained weights are not" if _is_shipped(prefix) else "There are no weights"
    extra = ""
    if prefix.is_file() and not _is_h5(prefix):
        extra = f" ({_shown(prefix)} itself is a single file; a checkpoint is the two files named above)"
    elif found := _weights_in(prefix.parent):
        extra = f" (that folder has: {', '.join(found[:6])})"
    return WeightsNotFoundError(f"{what} at {_shown(prefix)}: looked for {looked}{extra}. {fix}")


def _check_sha256(prefix: Path, files: list[Path], metadata: dict[str, Any] | None) -> None:
    recorded = (metadata or {}).get("sha256")
    if not isinstance(recorded, dict):
        return
    for file in files:
        expected = recorded.get(file.name)
        if isinstance(expected, str) and file_sha256(file) != expected.lower():
            raise WeightsCorruptError(
                f"The weights file {_shown(file)} is damaged or was changed: its SHA-256 does not match the one "
                f"recorded in {_shown(metadata_path(prefix))}. {_how_to_get_good_weights(prefix)}"
            )


def _corrupt(prefix: Path, files: list[Path], reason: str) -> WeightsCorruptError:
    for file in files:
        with contextlib.suppress(OSError), open(file, "rb") as handle:
            if handle.read(40).startswith(b"version https://git-lfs"):
                return WeightsCorruptError(
                    f"{_shown(file)} is a Git LFS pointer, not the weights themselves. Run `git lfs pull` in the project folder."
                )
    return WeightsCorruptError(
        f"The weights at {_shown(prefix)} are damaged and cannot be read ({reason}). {_how_to_get_good_weights(prefix)}"
    )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _read_checkpoint(prefix: Path, files: list[Path]) -> list[tuple[str, dict[str, np.ndarray]]]:
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        keys = reader.get_variable_to_shape_map()
        grouped: dict[int, dict[str, np.ndarray]] = {}
        for key in sorted(keys):
            match = _CHECKPOINT_KEY.match(key)
            if match and "/." not in match.group(2):  # skip optimizer slots and other bookkeeping
                grouped.setdefault(int(match.group(1)), {})[match.group(2)] = np.asarray(reader.get_tensor(key))
    except (tf.errors.OpError, IndexError, ValueError, OSError) as exc:
        raise _corrupt(prefix, files, _one_line(exc)) from None
    if not grouped and keys:
        raise WeightsMismatchError(
            f"{_shown(prefix)} is a TensorFlow checkpoint but holds no Keras layer weights. "
            "Save a model's weights with save_weights(dqn, path) and load those."
        )
    return [(f"layer_with_weights-{k}", grouped[k]) for k in sorted(grouped)]


def _read_h5(prefix: Path, files: list[Path]) -> list[tuple[str, dict[str, np.ndarray]]]:
    import h5py

    def text(value) -> str:
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    try:
        with h5py.File(prefix, "r") as file:
            group = file["model_weights"] if "model_weights" in file else file
            if "layer_names" not in group.attrs:
                raise WeightsMismatchError(
                    f"{_shown(prefix)} is an HDF5 file but not one with Keras weights. "
                    "Save a model's weights with save_weights(dqn, 'name.h5') and load those."
                )
            layers = []
            for name in map(text, group.attrs["layer_names"]):
                names = [text(n) for n in group[name].attrs.get("weight_names", [])]
                if names:
                    layers.append((name, {_attribute(n): np.asarray(group[name][n]) for n in names}))
            return layers
    except WeightsError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise _corrupt(prefix, files, _one_line(exc)) from None


def read_weights(path: str | os.PathLike | None = None) -> StoredWeights:
    """Read and check the weights at ``path`` (default: the shipped ones), without a Keras model.

    Raises :class:`WeightsNotFoundError` or :class:`WeightsCorruptError` (also when the SHA-256
    recorded in the JSON file next to the weights does not match). Used by :func:`load_weights`
    and by :func:`cartpole_dqn.deploy.load_controller`.
    """
    prefix = _as_path(path, SHIPPED_WEIGHTS)
    if _is_h5(prefix):
        if not prefix.is_file():
            raise _not_found(prefix)
        files = [prefix]
    else:
        index, data = _index_file(prefix), _data_files(prefix)
        if not index.is_file() and not data:
            raise _not_found(prefix)
        if not index.is_file() or not data:
            present, missing = (
                (_shown(data[0]), _shown(index)) if data else (_shown(index), f"{_shown(prefix)}.data-00000-of-00001")
            )
            fix = (
                "Restore them with `git checkout weights/`."
                if _is_shipped(prefix)
                else "Copy both files together, or train and save the agent again (notebook 03)."
            )
            raise WeightsNotFoundError(
                f"Only half of the weights at {_shown(prefix)} is there: {present} exists but {missing} is missing "
                f"(a checkpoint needs both files). {fix}"
            )
        files = [index, *data]
    metadata = _read_metadata(prefix)
    _check_sha256(prefix, files, metadata)
    layers = _read_h5(prefix, files) if _is_h5(prefix) else _read_checkpoint(prefix, files)
    return StoredWeights(prefix, "hdf5" if _is_h5(prefix) else "tensorflow-checkpoint", layers, metadata)


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _check_fits(stored: StoredWeights, model) -> list[np.ndarray]:
    """The stored arrays in the order of ``model.get_weights()``, or WeightsMismatchError."""
    fits = stored.build_model_call()
    fix = "Rebuild the model with the same build_model(states, actions) settings as when the weights were saved"
    fix += f": this file fits {fits}." if fits else "."
    start = f"The weights in {_shown(stored.path)} were saved from a different network"
    wanted = _model_layers(model)
    if len(wanted) != len(stored.layers):
        raise WeightsMismatchError(
            f"{start}: the file has {len(stored.layers)} layers with weights, this model has {len(wanted)}. {fix}"
        )
    arrays = []
    for position, ((layer_name, variables), (_, saved)) in enumerate(zip(wanted, stored.layers, strict=True), start=1):
        where = f"layer {layer_name!r} (the {_ordinal(position)} layer with weights)"
        if sorted(saved) != sorted(attr for attr, _ in variables):
            raise WeightsMismatchError(
                f"{start}: {where} has {', '.join(a for a, _ in variables)} in this model "
                f"but {', '.join(sorted(saved))} in the file. {fix}"
            )
        for attr, shape in variables:
            if saved[attr].shape != shape:
                raise WeightsMismatchError(
                    f"{start}: {where} has a {attr} of shape {saved[attr].shape} in the file "
                    f"but {shape} in this model. {fix}"
                )
            arrays.append(saved[attr])
    return arrays


def load_weights(agent_or_model, path: str | os.PathLike | None = None):
    """Load weights into a DQN agent or a Keras model (notebooks 03 and 04); default: the shipped agent.

    Everything is read and checked first; only then are the model's weights replaced, so on
    any error the model is unchanged. For an agent the target network gets the same weights
    (like keras-rl2's ``dqn.load_weights``). Returns ``agent_or_model``.
    """
    model = _keras_model(agent_or_model, "load_weights")
    stored = read_weights(path)
    arrays = _check_fits(stored, model)
    model.set_weights(arrays)
    target = getattr(agent_or_model, "target_model", None)
    if target is not None and target is not model:
        target.set_weights(model.get_weights())
    return agent_or_model


# --------------------------------------------------------------------------------------------
# writing


def check_save_path(
    path: str | os.PathLike | None = None, overwrite: bool = False, *, _allow_shipped: bool = False
) -> Path:
    """Raise now what :func:`save_weights` would raise about ``path`` (before a long training run).

    Returns the checkpoint prefix that will be written.
    """
    prefix = _as_path(path, DEFAULT_WEIGHTS)
    if not _allow_shipped and _is_shipped(prefix):
        raise ProtectedWeightsError(
            f"{_shown(prefix)} holds the shipped pre-trained agent, which the notebooks rely on, so it is never overwritten. "
            f"Save under another name, such as {_shown(DEFAULT_WEIGHTS)}."
        )
    if prefix.is_dir():
        raise ValueError(
            f"{_shown(prefix)} is a folder; give a file name inside it, such as {_shown(prefix / 'dqn_weights.h5f')}."
        )
    if weight_files(prefix) and not overwrite:
        raise FileExistsError(f"Weights already exist at {_shown(prefix)}; pass overwrite=True or choose another name.")
    return prefix


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


def _json_text(info: dict[str, Any]) -> str:
    """Indented JSON, with lists of numbers (layer shapes) kept on one line."""
    number = r"-?\d[\d.eE+-]*"
    # only lists that json.dumps spread over lines (a raw newline never occurs inside a JSON string)
    short_list = re.compile(rf"\[\n\s*({number}(?:,\n\s*{number})*)\n\s*\]")
    text = json.dumps(info, indent=2, default=_json_default)
    return short_list.sub(lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text) + "\n"


@contextlib.contextmanager
def _interrupts_deferred():
    """Hold back Ctrl+C for the few renames that put a save in place; deliver it afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt


def _move_into_place(moves: list[tuple[Path, Path]], token: str) -> None:
    """Rename each ``(new, destination)``; if anything fails, put every previous file back."""
    backups: list[tuple[Path, Path]] = []
    placed: list[Path] = []
    with _interrupts_deferred():
        try:
            for _, destination in moves:
                if destination.exists():
                    backup = destination.with_name(f".{destination.name}.tmp-backup-{token}")
                    os.replace(destination, backup)
                    backups.append((backup, destination))
            for new, destination in moves:
                os.replace(new, destination)
                placed.append(destination)
        except BaseException:
            restored = {destination for _, destination in backups}
            for destination in placed:
                if destination not in restored:
                    with contextlib.suppress(OSError):
                        destination.unlink()
            for backup, destination in backups:
                with contextlib.suppress(OSError):
                    os.replace(backup, destination)
            raise
        for backup, _ in backups:
            with contextlib.suppress(OSError):
                backup.unlink()


def save_weights(
    agent_or_model,
    path: str | os.PathLike | None = None,
    overwrite: bool = False,
    metadata: dict[str, Any] | None = None,
    *,
    _allow_shipped: bool = False,
) -> Path:
    """Save the weights of a DQN agent or Keras model (notebook 03); return the checkpoint path.

    ``path`` defaults to ``weights/dqn_weights.h5f``; a name ending in ``.h5`` writes one HDF5
    file instead of a checkpoint. Existing weights are replaced only with ``overwrite=True``;
    the shipped pre-trained weights never. Writes ``<name>.json`` next to the weights with the
    versions, layer shapes, SHA-256 of the files, and ``metadata`` (a JSON-friendly dict).
    ``_allow_shipped`` is for the script that regenerates the shipped weights, nothing else.
    """
    model = _keras_model(agent_or_model, "save_weights")
    prefix = check_save_path(path, overwrite, _allow_shipped=_allow_shipped)
    info: dict[str, Any] = {
        "weights": prefix.name,
        "format": "hdf5" if _is_h5(prefix) else "tensorflow-checkpoint",
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "layers": [
            {"name": name, "shapes": {a: list(s) for a, s in variables}} for name, variables in _model_layers(model)
        ],
        "versions": _versions(),
    }
    info.update(metadata or {})
    json.dumps(info, default=_json_default)  # refuse metadata that cannot be written, before writing anything
    try:
        prefix.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{prefix.name}.tmp-", dir=prefix.parent))
    except OSError as exc:
        raise WeightsError(
            f"Cannot write to the folder {_shown(prefix.parent)} ({exc.strerror or exc}). "
            "Choose a folder you can write to, or fix its permissions."
        ) from None
    try:
        try:
            model.save_weights(str(temporary / prefix.name))
        except OSError as exc:
            raise WeightsError(
                f"Saving the weights to {_shown(prefix)} failed ({exc.strerror or exc}); the previous files, if any, are unchanged. "
                "Check that the disk is not full and the folder is writable, then save again."
            ) from None
        new_files = [temporary / prefix.name] if _is_h5(prefix) else [_index_file(temporary / prefix.name)]
        new_files += [] if _is_h5(prefix) else _data_files(temporary / prefix.name)
        info["sha256"] = {file.name: file_sha256(file) for file in new_files}
        sidecar = temporary / metadata_path(prefix).name
        sidecar.write_text(_json_text(info), encoding="utf-8")
        moves = [(file, prefix.parent / file.name) for file in new_files] + [(sidecar, metadata_path(prefix))]
        _move_into_place(moves, temporary.name.rsplit("-", 1)[-1])
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return prefix
