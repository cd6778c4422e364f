"""Saving and loading weights: exact round trips, refusals, and errors that say what to do."""

from __future__ import annotations

import json
import os

from cartpole_dqn import build_agent, build_model, compile_agent, reset_session, weights
from cartpole_dqn.weights import (
    ProtectedWeightsError,
    WeightsCorruptError,
    WeightsError,
    WeightsMismatchError,
    WeightsNotFoundError,
    load_weights,
    save_weights,
)

import numpy as np
import pytest

STATES = np.random.default_rng(0).normal(size=(64, 1, 4)).astype(np.float32)


def q_values(model) -> np.ndarray:
    return model.predict(STATES, verbose=0)


def same_weights(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))


@pytest.fixture(autouse=True)
def fresh_graph():
    """keras-rl2 runs TensorFlow in graph mode, where every model built adds to one graph that
    slows everything down as it grows: start each test with an empty one."""
    reset_session()


@pytest.fixture
def shipped(moved_weights_dir):
    """The shipped-weights location moved into tmp_path, so the repository's weights/ is never touched."""
    return moved_weights_dir / "dqn_pretrained.h5f"


@pytest.fixture
def saved(tmp_path):
    """A model and the path its weights were saved to."""
    model = build_model(4, 2)
    return model, save_weights(model, tmp_path / "agent.h5f")


def test_round_trip_gives_identical_q_values(saved):
    model, path = saved
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "agent.h5f.data-00000-of-00001",
        "agent.h5f.index",
        "agent.json",
    ]
    fresh = build_model(4, 2)
    assert not np.array_equal(q_values(fresh), q_values(model))
    assert load_weights(fresh, path) is fresh
    assert np.array_equal(q_values(fresh), q_values(model))


def test_index_file_name_is_accepted_too(saved):
    model, path = saved
    fresh = build_model(4, 2)
    load_weights(fresh, str(path) + ".index")
    assert np.array_equal(q_values(fresh), q_values(model))


def test_agent_round_trip_also_updates_the_target_network(saved):
    model, path = saved
    dqn = compile_agent(build_agent(build_model(4, 2), 2))
    load_weights(dqn, path)
    assert same_weights(dqn.model, model)
    assert same_weights(dqn.target_model, model)
    assert np.array_equal(q_values(dqn.model), q_values(model))


@pytest.mark.parametrize("name", ["agent.h5", "agent.hdf5", "agent.keras"])
def test_hdf5_names_are_refused_with_the_name_to_use(tmp_path, name):
    with pytest.raises(WeightsError, match=r"single-file HDF5 format.*name the weights agent.h5f instead"):
        save_weights(build_model(4, 2), tmp_path / name)
    with pytest.raises(WeightsError, match="agent.h5f instead"):
        load_weights(build_model(4, 2), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_metadata_file_has_checksums_and_what_was_passed(saved):
    _, path = saved
    meta = json.loads(path.with_suffix(".json").read_text())
    assert set(meta["sha256"]) == {"agent.h5f.index", "agent.h5f.data-00000-of-00001"}
    assert meta["versions"]["keras-rl2"] == "1.0.5"
    path2 = save_weights(build_model(4, 2), path.parent / "b.h5f", metadata={"seed": np.int64(7), "test_mean": 200.0})
    meta2 = json.loads(path2.with_suffix(".json").read_text())
    assert (meta2["seed"], meta2["test_mean"]) == (7, 200.0)


def test_overwrite_is_refused_without_asking(saved, monkeypatch):
    model, path = saved
    monkeypatch.setattr("builtins.input", lambda *a: pytest.fail("save_weights asked on stdin"))
    before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
    with pytest.raises(FileExistsError, match=r"agent.h5f.index already exists; pass overwrite=True"):
        save_weights(build_model(4, 2), path)
    assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == before
    other = build_model(4, 2)
    save_weights(other, path, overwrite=True)
    fresh = load_weights(build_model(4, 2), path)
    assert np.array_equal(q_values(fresh), q_values(other))
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(before)  # no temporary files left behind


# a save renames its staged files into place in order: 1 the data, 2 the index, 3 the record
@pytest.mark.parametrize("fail_at", [1, 2, 3])
def test_an_interrupted_save_keeps_the_previous_files_or_names_the_new_ones(saved, monkeypatch, fail_at):
    model, path = saved
    before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
    new = build_model(4, 2)
    real_replace, calls = os.replace, []

    def interrupted_once(src, dst):
        calls.append(src)
        if len(calls) == fail_at:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        save_weights(new, path, overwrite=True)
    monkeypatch.undo()
    if fail_at == 1:  # nothing was switched: the previous files, and nothing else
        assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == before
        assert np.array_equal(q_values(load_weights(build_model(4, 2), path)), q_values(model))
        return
    with pytest.raises(WeightsError, match="was interrupted before it finished") as info:
        load_weights(build_model(4, 2), path)
    (staging,) = [p for p in path.parent.iterdir() if p.is_dir()]
    assert staging.name in str(info.value)
    for file in staging.iterdir():
        os.replace(file, path.parent / file.name)
    assert np.array_equal(q_values(load_weights(build_model(4, 2), path)), q_values(new))


def test_shipped_weights_are_protected(shipped):
    model = build_model(4, 2)
    for target in (shipped, str(shipped) + ".index"):
        with pytest.raises(ProtectedWeightsError, match="shipped pre-trained agent.*Save under another name") as info:
            save_weights(model, target, overwrite=True)
        assert isinstance(info.value, PermissionError)
    with pytest.raises(ValueError, match=r"must end in \.h5f"):
        save_weights(model, shipped.with_suffix(""), overwrite=True)
    assert not shipped.parent.exists()
    weights._save_shipped(model, {"made_with": "test"}, shipped)  # the regeneration script's way
    assert weights.weight_files(shipped) and weights.SHIPPED_METADATA.is_file()
    assert np.array_equal(q_values(load_weights(build_model(4, 2))), q_values(model))  # default: shipped
    with pytest.raises(ProtectedWeightsError):
        save_weights(model, shipped, overwrite=True)


def test_missing_file_names_the_paths(tmp_path):
    with pytest.raises(WeightsNotFoundError) as info:
        load_weights(build_model(4, 2), tmp_path / "nope.h5f")
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "nope.h5f.index" in message and "nope.h5f.data-00000-of-00001" in message
    assert f"{tmp_path / 'nope.h5f'}.index and {tmp_path / 'nope.h5f'}.data-00000-of-00001" in message
    assert "notebook 03" in message and "git checkout weights/" in message


def test_missing_shipped_weights_say_how_to_restore(shipped):
    with pytest.raises(WeightsNotFoundError, match="shipped pre-trained weights are not at"):
        load_weights(build_model(4, 2))


def test_half_a_checkpoint_is_reported(saved):
    _, path = saved
    (path.parent / "agent.h5f.data-00000-of-00001").unlink()
    with pytest.raises(
        WeightsNotFoundError,
        match=r"agent.h5f.index exists but .*agent.h5f.data-00000-of-00001 is missing \(a checkpoint needs both files\)",
    ):
        load_weights(build_model(4, 2), path)


def test_mismatch_names_layer_and_shapes(saved):
    _, path = saved
    small = build_model(4, 2, hidden=16)
    before = small.get_weights()
    with pytest.raises(WeightsMismatchError) as info:
        load_weights(small, path)
    message = str(info.value)
    # by kind and position: a name alone could mislead, in a network built without names 'dense_1' is the 2nd layer
    assert (
        "the 1st Dense layer (named 'dense_1' in this model) has a kernel of shape (4, 24) in the file but (4, 16) in this model"
        in message
    )
    assert "build_model(4, 2, hidden=24)" in message
    assert all(np.array_equal(a, b) for a, b in zip(small.get_weights(), before, strict=True))


def test_mismatch_counts_layers_of_one_kind(saved):
    """The 2nd hidden layer differing is 'the 2nd Dense layer', whatever Keras named it."""
    _, path = saved
    with pytest.raises(WeightsMismatchError, match=r"the 2nd Dense layer \(named 'dense_2' in this model\)"):
        load_weights(build_model(4, 2, hidden=(24, 16)), path)


def test_mismatch_in_a_network_built_without_names_counts_by_position(saved):
    """Keras names unnamed layers dense, dense_1, ...: there 'dense_1' is the 2nd Dense layer (notebook 09)."""
    from tensorflow.keras.layers import Dense, Flatten
    from tensorflow.keras.models import Sequential

    _, path = saved
    unnamed = Sequential([Flatten(input_shape=(1, 4)), Dense(24), Dense(16), Dense(2)])
    second = [layer.name for layer in unnamed.layers if layer.weights][1]
    with pytest.raises(
        WeightsMismatchError, match=rf"the 2nd Dense layer \(named '{second}' in this model\) has a kernel"
    ):
        load_weights(unnamed, path)


def corrupt(path, how: str) -> None:
    if how == "truncated data":
        data = path.parent / (path.name + ".data-00000-of-00001")
        data.write_bytes(data.read_bytes()[:100])
    elif how == "garbage index":
        (path.parent / (path.name + ".index")).write_bytes(b"this is not a checkpoint index" * 4)
    elif how == "flipped byte":
        data = path.parent / (path.name + ".data-00000-of-00001")
        content = bytearray(data.read_bytes())
        content[200] ^= 0xFF
        data.write_bytes(bytes(content))


@pytest.mark.parametrize("how", ["truncated data", "garbage index", "flipped byte"])
@pytest.mark.parametrize("with_checksums", [True, False])
def test_damaged_files_raise_corrupt_and_leave_the_model_unchanged(saved, how, with_checksums):
    _, path = saved
    if not with_checksums:  # then TensorFlow's own reading has to notice
        path.with_suffix(".json").unlink()
    corrupt(path, how)
    model = build_model(4, 2)
    before = q_values(model)
    with pytest.raises(WeightsCorruptError) as info:
        load_weights(model, path)
    message = str(info.value)
    assert "damaged" in message and "agent.h5f" in message
    assert "git checkout weights/" in message and "notebook 03" in message
    assert np.array_equal(q_values(model), before)


def test_every_error_is_a_weights_error_of_at_most_two_sentences(saved, tmp_path):
    _, path = saved
    errors = []
    for call in (
        lambda: load_weights(build_model(4, 2), tmp_path / "missing.h5f"),
        lambda: load_weights(build_model(4, 2, hidden=8), path),
    ):
        with pytest.raises(WeightsError) as info:
            call()
        errors.append(str(info.value))
    for message in errors:
        assert "\n" not in message
        assert message.count(". ") <= 2, message


def test_wrong_argument_types_are_explained(saved):
    _, path = saved
    with pytest.raises(TypeError, match="needs a DQN agent or a Keras model"):
        load_weights(str(path), path)
    with pytest.raises(TypeError, match="metadata must hold only"):
        save_weights(build_model(4, 2), path.parent / "m.h5f", metadata={"bad": object()})
    assert not (path.parent / "m.h5f.index").exists()


def test_a_folder_instead_of_a_file_names_what_is_inside(saved):
    _, path = saved
    with pytest.raises(WeightsNotFoundError, match=r"is a folder, not a weights file \(it holds: agent.h5f\)"):
        load_weights(build_model(4, 2), path.parent)
    with pytest.raises(ValueError, match="is a folder; give a file name inside it"):
        save_weights(build_model(4, 2), path.parent, overwrite=True)
