"""Issue 11: nothing lost, ever -- the shipped agent, a learner's training, odd paths, bad input.

Each test reproduces a broken promise or weak spot found by an adversarial pass (it failed
before the fix). Nothing here touches the repository's ``weights/`` except to check that it
is refused; subprocesses get ``CARTPOLE_DQN_WEIGHTS_DIR`` in ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings

from cartpole_dqn import build_model, cli, reset_session, weights
from cartpole_dqn.checkpoints import training_reservation
from cartpole_dqn.envs import EnvironmentSpecError, make_gymnasium_env
from cartpole_dqn.settings import PROJECT_ROOT
from cartpole_dqn.weights import (
    ProtectedWeightsError,
    WeightsCorruptError,
    WeightsError,
    file_sha256,
    load_weights,
    save_weights,
)

import numpy as np
import pytest
from cli_helpers import one_error_line

SHIPPED = PROJECT_ROOT / "weights" / "dqn_pretrained.h5f"
STATES = np.random.default_rng(1).normal(size=(16, 1, 4)).astype(np.float32)


@pytest.fixture(autouse=True)
def fresh_graph():
    reset_session()


# --- the shipped agent ----------------------------------------------------------------------


def test_the_projects_shipped_agent_is_protected_when_the_settings_point_elsewhere(moved_weights_dir):
    before = {p.name: p.read_bytes() for p in SHIPPED.parent.iterdir() if p.name.startswith("dqn_pretrained")}
    model = build_model(4, 2)
    for target in (SHIPPED, str(SHIPPED) + ".index", PROJECT_ROOT / "notebooks" / ".." / "weights" / SHIPPED.name):
        with pytest.raises(ProtectedWeightsError, match="shipped pre-trained agent"):
            save_weights(model, target, overwrite=True)
    after = {p.name: p.read_bytes() for p in SHIPPED.parent.iterdir() if p.name.startswith("dqn_pretrained")}
    assert after == before


def test_train_with_overwrite_cannot_reach_the_projects_shipped_agent_from_another_weights_dir(
    moved_weights_dir, capsys
):
    before = {file.name: file_sha256(file) for file in weights.weight_files(SHIPPED)}
    assert cli.main(["train", "--steps", "50", "--weights", str(SHIPPED), "--overwrite"]) == 2
    captured = capsys.readouterr()
    assert "shipped pre-trained agent" in one_error_line(captured.err) and "Training" not in captured.out
    assert {file.name: file_sha256(file) for file in weights.weight_files(SHIPPED)} == before


def test_a_symlinked_folder_or_a_byte_copy_of_the_shipped_agent_is_protected(moved_weights_dir, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(SHIPPED.parent, target_is_directory=True)
    with pytest.raises(ProtectedWeightsError):
        save_weights(build_model(4, 2), link / SHIPPED.name, overwrite=True)
    copy = tmp_path / "copy"
    copy.mkdir()
    for file in weights.weight_files(SHIPPED):
        shutil.copyfile(file, copy / file.name.replace("dqn_pretrained", "mine"))
    with pytest.raises(ProtectedWeightsError):
        save_weights(build_model(4, 2), copy / "mine.h5f", overwrite=True)


def test_saving_while_another_process_switches_the_files_is_not_an_error(tmp_path, monkeypatch):
    # Another save to the same path moves the old files aside, then the new ones in (under its lock).
    # Seen from here, a file listed a moment ago can be gone when the shipped-agent check reads it.
    reset_session(0)
    model = build_model(4, 2)
    path = save_weights(model, tmp_path / "mine.h5f")
    listed = weights.checkpoints.checkpoint_files
    vanished = tmp_path / "mine.h5f.data-00000-of-00002"  # listed, then gone before it was read
    monkeypatch.setattr(weights.checkpoints, "checkpoint_files", lambda prefix: [*listed(prefix), vanished])
    assert save_weights(model, path, overwrite=True) == path
    monkeypatch.undo()
    np.testing.assert_array_equal(load_weights(build_model(4, 2), path).get_weights()[0], model.get_weights()[0])


def test_a_name_differing_only_in_case_is_another_file_on_a_case_sensitive_disk(moved_weights_dir):
    reset_session()
    weights._save_shipped(build_model(4, 2), {}, moved_weights_dir / "dqn_pretrained.h5f")
    if (moved_weights_dir / "DQN_PRETRAINED.h5f.index").exists():  # pragma: no cover - case-insensitive disk
        pytest.skip("this filesystem ignores case")
    saved = save_weights(build_model(4, 2), moved_weights_dir / "DQN_PRETRAINED.h5f")
    assert weights.weight_files(saved)


# --- odd paths ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["agent[1].h5f", "a*b?.h5f", "[x]/agent.h5f"])
def test_glob_characters_in_a_path_save_and_load_back(tmp_path, name):
    model = build_model(4, 2)
    path = save_weights(model, tmp_path / name)
    fresh = load_weights(build_model(4, 2), path)
    assert np.array_equal(fresh.predict(STATES, verbose=0), model.predict(STATES, verbose=0))


@pytest.mark.parametrize("text", ["", " ", ".", "/", "some/folder/"])
@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_paths_that_name_no_file_are_one_line_errors(text, command, moved_weights_dir, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_train_and_save", lambda *a: pytest.fail("training started"))
    assert cli.main([command, "--weights", text]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "PosixPath" not in line
    assert "empty" in line or "folder" in line


def test_existing_default_weights_are_named_in_the_refusal(moved_weights_dir, monkeypatch, capsys):
    monkeypatch.chdir(moved_weights_dir.parent)
    save_weights(build_model(4, 2))  # the default place
    assert cli.main(["train"]) == 2
    assert "Weights already exist at weights/dqn_weights.h5f; pass --overwrite" in one_error_line(
        capsys.readouterr().err
    )


def test_a_gif_below_a_file_is_refused_before_playing(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert cli.main(["play", "--random", "--gif", str(tmp_path / "afile" / "x.gif")]) == 2
    assert "afile is a file, not a folder" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["evaluate", "--seed", "1,2"], "must be a whole number"),
        (["evaluate", "--episodes", "1,0,0"], "must be a whole number"),
        (["train", "--steps", "5,0000"], "must be a whole number"),
        (["train", "--steps", "1.5"], "must be a whole number"),
    ],
)
def test_numbers_with_misplaced_commas_are_refused(argv, expected, capsys):
    assert cli.main(argv) == 2
    assert expected in one_error_line(capsys.readouterr().err)


def test_thousands_separators_are_still_accepted():
    args = cli.build_parser().parse_args(["train", "--steps", "50,000", "--seed", "1_000"])
    assert (args.steps, args.seed) == (50_000, 1_000)


# --- a save that cannot be written is found before training --------------------------------


def test_an_unwritable_destination_is_refused_before_training(tmp_path, moved_weights_dir, monkeypatch, capsys):
    (tmp_path / "a-file").write_text("x")
    monkeypatch.setattr(cli, "_train_and_save", lambda *a: pytest.fail("training started"))
    for target, reason in (
        (tmp_path / "a-file" / "agent.h5f", "is a file, not a folder"),
        (tmp_path / ("a" * 240 + ".h5f"), "too long for this filesystem"),
    ):
        assert cli.main(["train", "--weights", str(target)]) == 2
        assert reason in one_error_line(capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(("weights", "a-file"))) == []


def test_a_failed_save_after_training_keeps_the_agent_somewhere_and_says_where(
    tmp_path, moved_weights_dir, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "full-disk" / "agent.h5f"
    real_save = weights._save

    def disk_full_there(agent, prefix, *args, **kwargs):
        if prefix.parent == target.parent:
            raise weights.WeightsWriteError(f"Saving the weights to {prefix} failed (the disk is full).")
        return real_save(agent, prefix, *args, **kwargs)

    monkeypatch.setattr(weights, "_save", disk_full_there)
    assert cli.main(["train", "--steps", "60", "--weights", str(target)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "the disk is full" in line and "The trained agent was saved to" in line
    rescued = [p for p in moved_weights_dir.iterdir() if p.name.endswith(".index")]
    assert len(rescued) == 1 and "agent-rescued-" in rescued[0].name
    assert str(rescued[0]).removesuffix(".index").split(os.sep)[-1] in line
    meta = json.loads(next(moved_weights_dir.glob("agent-rescued-*.json")).read_text())
    assert meta["rescued_from"] == str(target) and meta["steps"] == 60
    load_weights(build_model(4, 2), rescued[0])  # the rescued agent loads


def test_a_second_training_to_the_same_place_is_refused_before_it_starts(moved_weights_dir, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_train_and_save", lambda *a: pytest.fail("training started"))
    target = moved_weights_dir / "dqn_weights.h5f"
    with training_reservation(target):
        assert cli.main(["train"]) == 2
    assert "Another training is running that will save to" in one_error_line(capsys.readouterr().err)


# --- environments whose module is missing ----------------------------------------------------


@pytest.mark.parametrize(
    ("env_id", "expected"),
    [
        ("phys2d/CartPole-v0", "needs the library 'jax', which is not installed"),
        ("Hopper-v3", "gymnasium-robotics"),
        ("GymV26Environment-v0", "shimmy"),
        ("LunarLander-v3", "Box2D is not installed"),
    ],
)
def test_a_missing_library_is_named_with_how_to_install_it(env_id, expected, capsys):
    pytest.importorskip("cartpole_dqn")
    with pytest.raises(EnvironmentSpecError, match="cannot make it here|which is not installed") as info:
        make_gymnasium_env(env_id, render_mode=None)
    message = str(info.value)
    assert expected in message and "Did you mean" not in message and "\n" not in message
    assert cli.main(["play", "--random", "--episodes", "1", "--env", env_id]) == 2
    assert expected in one_error_line(capsys.readouterr().err)


def test_human_render_mode_without_a_screen_warns(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = make_gymnasium_env("CartPole-v0", render_mode="human")
        env.close()
    assert any("no screen" in str(w.message) for w in caught)


# --- the JSON record -------------------------------------------------------------------------


def test_activations_and_widths_are_recorded_and_read_back(tmp_path):
    model = build_model(4, 2, hidden=(32, 16, 8), activation="tanh")
    path = save_weights(model, tmp_path / "deep.h5f")
    record = json.loads(path.with_suffix(".json").read_text())
    assert [layer["activation"] for layer in record["layers"]] == ["tanh", "tanh", "tanh", "linear"]
    assert [layer["units"] for layer in record["layers"]] == [32, 16, 8, 2]
    stored = weights.read_weights(path)
    assert stored.activations == ["tanh", "tanh", "tanh", "linear"]
    assert stored.widths == [32, 16, 8, 2]
    assert stored.build_model_call() == "build_model(4, 2, hidden=(32, 16, 8), activation='tanh')"
    with pytest.raises(weights.WeightsMismatchError, match=r"this file fits build_model\(4, 2, hidden=\(32, 16, 8\)"):
        load_weights(build_model(4, 2), path)


def test_a_record_without_activations_falls_back_to_relu_relu_linear(tmp_path):
    # records written before activations were recorded (the shipped agent's until issue 18) still load
    import shutil

    for part in weights.weight_files(SHIPPED):
        shutil.copy(part, tmp_path / part.name.replace("dqn_pretrained", "old"))
    record = json.loads(weights.metadata_path(SHIPPED).read_text())
    record["weights"] = "old.h5f"
    record["sha256"] = {name.replace("dqn_pretrained", "old"): digest for name, digest in record["sha256"].items()}
    record["layers"] = [{"name": layer["name"], "shapes": layer["shapes"]} for layer in record["layers"]]
    (tmp_path / "old.json").write_text(json.dumps(record))
    stored = weights.read_weights(tmp_path / "old.h5f")
    assert "activation" not in json.dumps(stored.metadata["layers"])
    assert stored.activations == ["relu", "relu", "linear"]
    assert stored.build_model_call() == "build_model(4, 2, hidden=24)"


def test_an_invalid_json_record_is_damage_not_silence(tmp_path):
    path = save_weights(build_model(4, 2), tmp_path / "agent.h5f")
    path.with_suffix(".json").write_text("{ not json")
    with pytest.raises(WeightsCorruptError, match=r"agent.json next to the weights is damaged \(not valid JSON"):
        weights.read_weights(path)


# --- errors the command line shows, and errors it must not hide ----------------------------------


def test_programming_errors_are_not_turned_into_one_line(monkeypatch, moved_weights_dir):
    def buggy(args):
        raise ValueError("a bug, not a usage mistake")

    monkeypatch.setattr(cli, "_evaluate", buggy)
    with pytest.raises(ValueError, match="a bug"):
        cli.main(["evaluate"])


def test_every_error_type_of_the_package_shares_one_base():
    from cartpole_dqn import compat, envs
    from cartpole_dqn.errors import CartPoleDQNError, SetupError

    for error in (WeightsError, envs.EnvironmentSpecError, compat.KerasVersionError, SetupError):
        assert issubclass(error, CartPoleDQNError)


def test_sigterm_during_the_renames_waits_until_the_save_is_complete(tmp_path, monkeypatch):
    import signal

    old = build_model(4, 2)
    path = save_weights(old, tmp_path / "agent.h5f")
    new = build_model(4, 2)
    real_replace, calls = os.replace, []

    def terminated_midway(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # between the data and the index
            os.kill(os.getpid(), signal.SIGTERM)
        real_replace(src, dst)

    def like_the_cli(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, like_the_cli)
    try:
        monkeypatch.setattr(os, "replace", terminated_midway)
        with pytest.raises(KeyboardInterrupt):
            save_weights(new, path, overwrite=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        monkeypatch.undo()
    assert len(calls) == 3  # every rename ran before the signal was delivered
    fresh = load_weights(build_model(4, 2), path)
    assert np.array_equal(fresh.predict(STATES, verbose=0), new.predict(STATES, verbose=0))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "agent.h5f.data-00000-of-00001",
        "agent.h5f.index",
        "agent.json",
    ]
