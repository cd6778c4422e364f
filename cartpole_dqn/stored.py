"""The network in a weights file: its layers, activations and widths, and whether it fits a model.

:class:`StoredWeights` is what :func:`cartpole_dqn.weights.read_weights` returns (the arrays,
checked, without any Keras model); :func:`check_fits` matches it against a model layer by
layer before :func:`cartpole_dqn.weights.load_weights` replaces anything. The JSON record
written next to saved weights holds each layer's shapes, width and activation
(:func:`layer_records`); a record without activations (the shipped agent's) means
relu ... relu, linear, what :func:`cartpole_dqn.build_model` builds.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from .errors import WeightsMismatchError
from .paths import shown

__all__ = ["StoredWeights", "network_of", "model_layers", "layer_records", "new_record", "json_default", "check_fits"]

#: What ``build_model`` uses, and what a JSON record without activations (the shipped one) means.
_FALLBACK_HIDDEN, _FALLBACK_OUTPUT = "relu", "linear"


def network_of(agent_or_model, action: str):
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


def model_layers(model) -> list[tuple[str, list[tuple[str, tuple[int, ...]]]]]:
    return [
        (layer.name, [(_attribute(w.name), tuple(int(d) for d in w.shape)) for w in layer.weights])
        for layer in model.layers
        if layer.weights
    ]


def layer_records(model) -> list[dict[str, Any]]:
    """One JSON record per layer with weights: name, shapes, and for Dense layers width and activation."""
    records = []
    for layer in model.layers:
        if not layer.weights:
            continue
        record: dict[str, Any] = {
            "name": layer.name,
            "shapes": {_attribute(w.name): [int(d) for d in w.shape] for w in layer.weights},
        }
        config = layer.get_config()
        if "units" in config:
            record["units"] = int(config["units"])
        if isinstance(config.get("activation"), str):
            record["activation"] = config["activation"]
        records.append(record)
    return records


@dataclass(frozen=True)
class StoredWeights:
    """The weights in a file, read and checked, without any Keras model.

    ``layers`` lists the layers that have weights, in order, as ``(name, {attribute: array})``
    (``name`` is ``layer_with_weights-<k>``: a TensorFlow checkpoint does not keep layer names).
    ``metadata`` is the JSON file next to the weights, if there is one.
    """

    path: Path
    format: str
    layers: list[tuple[str, dict[str, np.ndarray]]]
    metadata: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def activations(self) -> list[str]:
        """Each layer's activation, from the JSON record; without one (the shipped JSON) relu ... relu, linear."""
        recorded = (self.metadata or {}).get("layers")
        if isinstance(recorded, list) and len(recorded) == len(self.layers):
            names = [layer.get("activation") if isinstance(layer, dict) else None for layer in recorded]
            if all(isinstance(name, str) for name in names):
                return names
        return [_FALLBACK_HIDDEN] * (len(self.layers) - 1) + [_FALLBACK_OUTPUT]

    @property
    def widths(self) -> list[int]:
        """The number of units of each Dense layer, in order (the last one is the number of actions)."""
        return [int(kernel.shape[1]) for kernel, _ in self.dense_stack()]

    def build_model_call(self) -> str | None:
        """``"build_model(4, 2, hidden=24)"`` when the file fits :func:`~cartpole_dqn.build_model`, else None."""
        try:
            stack = self.dense_stack()
        except WeightsMismatchError:
            return None
        activations = self.activations
        hidden, output = activations[:-1], activations[-1]
        if len(stack) < 2 or output != _FALLBACK_OUTPUT or len(set(hidden)) != 1:
            return None
        states, widths = stack[0][0].shape[0], [int(kernel.shape[1]) for kernel, _ in stack]
        sizes = widths[:-1]
        arguments = [str(states), str(widths[-1])]
        arguments.append(f"hidden={sizes[0]}" if sizes == [sizes[0]] * 2 else f"hidden={tuple(sizes)}")
        if hidden[0] != _FALLBACK_HIDDEN:
            arguments.append(f"activation={hidden[0]!r}")
        return f"build_model({', '.join(arguments)})"

    def dense_stack(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``[(kernel, bias), ...]`` of a stack of Dense layers, checked to chain together."""
        stack = []
        for name, layer in self.layers:
            if set(layer) != {"kernel", "bias"}:
                raise WeightsMismatchError(
                    f"The weights in {shown(self.path)} are not a stack of Dense layers "
                    f"({name} holds {', '.join(sorted(layer))}). Use weights saved from build_model(states, actions)."
                )
            kernel, bias = layer["kernel"], layer["bias"]
            if (
                kernel.ndim != 2
                or bias.shape != (kernel.shape[1],)
                or (stack and stack[-1][0].shape[1] != kernel.shape[0])
            ):
                raise WeightsMismatchError(
                    f"The weights in {shown(self.path)} do not form one chain of Dense layers "
                    f"({name} has a kernel of shape {kernel.shape} and a bias of shape {bias.shape}). "
                    "Use weights saved from build_model(states, actions)."
                )
            stack.append((kernel, bias))
        if not stack:
            raise WeightsMismatchError(
                f"There are no layer weights in {shown(self.path)}. Save a model's weights there first."
            )
        return stack


def _versions() -> dict[str, str]:
    versions = {"python": ".".join(map(str, sys.version_info[:3]))}
    for name in ("tensorflow", "tf-keras", "keras-rl2", "gymnasium", "numpy"):
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(
        f"metadata must hold only numbers, strings, lists and dicts; {type(value).__name__} cannot be written to JSON."
    )


def new_record(model, name: str, metadata: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON record of a save of ``model`` as ``name`` (``sha256`` is added by the save), metadata checked."""
    info: dict[str, Any] = {
        "weights": name,
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
    json.dumps(info, default=json_default)  # refuse metadata that cannot be written, before writing anything
    return info


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def check_fits(stored: StoredWeights, model) -> list[np.ndarray]:
    """The stored arrays in the order of ``model.get_weights()``, or WeightsMismatchError."""
    fits = stored.build_model_call()
    fix = "Rebuild the model with the same build_model(states, actions) settings as when the weights were saved"
    fix += f": this file fits {fits}." if fits else "."
    start = f"The weights in {shown(stored.path)} were saved from a different network"
    wanted = model_layers(model)
    if len(wanted) != len(stored.layers):
        raise WeightsMismatchError(
            f"{start}: the file has {len(stored.layers)} layers with weights, this model has {len(wanted)}. {fix}"
        )
    # Named by kind and position ("the 1st Dense layer"), as loading goes, the name only in brackets:
    # build_model's 1st layer is 'dense_1', but in a network built without names Keras counts per
    # session ('dense', 'dense_1', ...), so there 'dense_1' is the 2nd layer (notebook 09).
    kinds = [type(layer).__name__ for layer in model.layers if layer.weights]
    arrays = []
    for i, ((layer_name, variables), (_, saved)) in enumerate(zip(wanted, stored.layers, strict=True)):
        where = f"the {_ordinal(kinds[: i + 1].count(kinds[i]))} {kinds[i]} layer (named {layer_name!r} in this model)"
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
