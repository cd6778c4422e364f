"""``python -m cartpole_dqn``: help everywhere, real runs, and one-line errors without tracebacks.

A few tests start a real ``python -m cartpole_dqn`` (each start imports TensorFlow, about 5 s);
the others call :func:`cartpole_dqn.cli.main` in this process. Nothing touches the
repository's ``weights/``: subprocesses get ``CARTPOLE_DQN_WEIGHTS_DIR`` and in-process
runs a monkeypatched weights location, both in ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import shutil

from cartpole_dqn import build_model, cli, reset_session, weights

import pytest
from cli_helpers import one_error_line, run_module
from PIL import Image


@pytest.fixture
def weights_dir(moved_weights_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return moved_weights_dir


@pytest.fixture
def saved_weights(weights_dir):
    reset_session()
    return weights.save_weights(build_model(4, 2), weights_dir / "mine.h5f")


# --- real processes ------------------------------------------------------------------------


def test_module_help_lists_the_commands(tmp_path):
    result = run_module("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for command in ("train", "evaluate", "play", "doctor"):
        assert command in result.stdout
    assert "python -m cartpole_dqn" in result.stdout
    assert result.stderr == ""


def test_missing_weights_end_in_one_line_and_exit_code_2(tmp_path):
    result = run_module("evaluate", "--weights", "nowhere/dqn_weights.h5f", cwd=tmp_path)
    assert result.returncode == 2
    line = one_error_line(result.stderr)
    assert "nowhere/dqn_weights.h5f.index" in line and "notebook 03" in line
    assert result.stdout == ""


# --- in this process -----------------------------------------------------------------------


def test_play_random_writes_a_gif_of_the_first_episode(tmp_path, weights_dir, capsys):
    gif = tmp_path / "out" / "x.gif"
    assert cli.main(["play", "--random", "--episodes", "2", "--gif", str(gif)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "episode 1: score" in captured.out and "episode 2: score" in captured.out
    with Image.open(gif) as image:
        assert image.format == "GIF"
        assert image.n_frames > 1
        assert image.size == (300, 200)


@pytest.mark.parametrize("command", ["train", "evaluate", "play", "doctor"])
def test_each_command_has_help(command, capsys):
    assert cli.main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage:") and len(out.splitlines()) > 5
    if command != "doctor":
        for option in ("--env", "--seed", "--weights"):
            assert option in out


def test_evaluate_saved_weights(saved_weights, capsys):
    assert cli.main(["evaluate", "--weights", str(saved_weights), "--episodes", "5"]) == 0
    out = capsys.readouterr().out
    assert "mine.h5f on CartPole-v0: 5 episodes: mean" in out
    assert "threshold 195" in out


def test_play_with_saved_weights(saved_weights, capsys):
    assert cli.main(["play", "--weights", str(saved_weights), "--episodes", "2"]) == 0
    out = capsys.readouterr().out
    assert "greedy agent from" in out and "mean score" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["evaluate", "--env", "NoSuchEnv-v0"], "Gymnasium has no environment 'NoSuchEnv-v0'"),
        (["evaluate", "--env", "Pendulum-v1"], "DQN needs a discrete action space"),
        (["evaluate", "--env", "Acrobot-v1"], "take 4 numbers and choose among 2 actions, but Acrobot-v1 has 6 and 3"),
        (["train", "--steps", "many"], "argument --steps: steps must be a whole number of at least 1, got 'many'"),
        (["evaluate", "--episodes", "0"], "argument --episodes: episodes must be a whole number of at least 1, got 0"),
        (["play", "--random", "--gif", "movie.mp4"], "movie.mp4 must end in .gif: use movie.gif"),
        (["fly"], "invalid choice: 'fly'"),
    ],
)
def test_mistakes_end_in_one_error_line(saved_weights, capsys, argv, expected):
    if argv[0] in ("evaluate", "play") and "--random" not in argv:
        argv = [*argv, "--weights", str(saved_weights)]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert expected in one_error_line(captured.err)


def test_play_refuses_to_overwrite_a_gif(tmp_path, weights_dir, capsys):
    gif = tmp_path / "keep.gif"
    gif.write_bytes(b"precious")
    assert cli.main(["play", "--random", "--gif", str(gif)]) == 2
    assert "already exists; pass --overwrite" in one_error_line(capsys.readouterr().err)
    assert gif.read_bytes() == b"precious"


def test_train_refuses_existing_and_shipped_weights_before_training(saved_weights, weights_dir, capsys):
    assert cli.main(["train", "--weights", str(saved_weights)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "Weights already exist at" in line and "pass --overwrite" in line
    assert cli.main(["train", "--weights", str(weights_dir / "dqn_pretrained.h5f"), "--overwrite"]) == 2
    captured = capsys.readouterr()
    assert "shipped pre-trained agent" in one_error_line(captured.err)
    assert "Training" not in captured.out


def test_train_saves_weights_and_metadata(weights_dir, capsys):
    assert cli.main(["train", "--steps", "200", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    saved = weights_dir / "dqn_weights.h5f"
    assert f"Saved the weights to {os.path.join('weights', 'dqn_weights.h5f')}" in out
    assert weights.weight_files(saved)
    meta = json.loads((weights_dir / "dqn_weights.json").read_text())
    assert (meta["steps"], meta["seed"], meta["env_id"]) == (200, 1, "CartPole-v0")
    assert 0 < meta["test_mean"] <= 200
    reset_session()
    weights.load_weights(build_model(4, 2), saved)  # what was saved loads back


def test_doctor_exit_code_follows_the_checks(weights_dir, capsys, monkeypatch):
    from cartpole_dqn import settings

    monkeypatch.setattr(settings, "WEIGHTS_DIR", weights_dir)
    assert cli.main(["doctor"]) == 1  # no shipped weights in the tmp folder
    assert "FAIL  Shipped pre-trained weights" in capsys.readouterr().out
    weights_dir.mkdir(exist_ok=True)
    for file in (settings.PROJECT_ROOT / "weights").glob("dqn_pretrained*"):
        shutil.copy(file, weights_dir / file.name)
    assert cli.main(["doctor"]) == 0
    assert "checks passed: this setup is ready" in capsys.readouterr().out
