"""Issue 18, part 3: one console that never loses a training, and one boundary for arguments.

Bugs 2 (a console that is not UTF-8), 3 (a closed or full stdout) and 9 (seeds above 2**32 - 1),
and the weak cases: raw Python/NumPy errors, values accepted silently, follow-up commands that
break on paths with spaces or from another folder, environment ids taken loosely.
"""

from __future__ import annotations

import io
import json
import math
import os
import shlex
import subprocess
import sys
from pathlib import Path

import cartpole_dqn as cd
from cartpole_dqn import cli, console, weights
from cartpole_dqn.errors import ArgumentError, CartPoleDQNError

import numpy as np
import pytest
from cli_helpers import cli_environment, one_error_line


def _stream(encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="strict", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    return stream.buffer.getvalue().decode(stream.encoding)


@pytest.fixture
def weights_dir(moved_weights_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return moved_weights_dir


# --- the console ---------------------------------------------------------------------------


def test_say_falls_back_to_ascii_where_the_encoding_cannot_show_a_character():
    stream = _stream("ascii")
    console.say("mean 9.4 ± 1.0 — solved: 200 ≥ 195 → done… 2×3 ≤ 7 ü", stream)
    assert _text(stream) == "mean 9.4 +/- 1.0 - solved: 200 >= 195 -> done... 2x3 <= 7 ?\n"
    utf8 = _stream("utf-8")
    console.say("200 ≥ 195", utf8)
    assert _text(utf8) == "200 ≥ 195\n"


@pytest.mark.parametrize("error", [BrokenPipeError(32, "Broken pipe"), OSError(28, "No space left on device")])
def test_say_stops_writing_to_a_closed_or_full_stream_instead_of_raising(error):
    class Failing(io.StringIO):
        writes = 0

        def write(self, text):
            Failing.writes += 1
            raise error

    stream = Failing()
    console.say("one", stream)
    console.say("two", stream)
    assert Failing.writes == 1 and console.lost(stream) is error


# --- bug 2: a console that is not UTF-8 -----------------------------------------------------


def test_bug2_train_saves_under_a_latin1_console(tmp_path):
    env = cli_environment(tmp_path, PYTHONIOENCODING="latin-1")
    result = subprocess.run(
        [sys.executable, "-m", "cartpole_dqn", "train", "--steps", "50"],
        capture_output=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    out, err = result.stdout.decode("latin-1"), result.stderr.decode("latin-1")
    assert result.returncode == 0, out + err
    assert weights.weight_files(tmp_path / "weights" / "dqn_weights.h5f")
    assert "Greedy test: 100 episodes: mean" in out and " - " in out and "Traceback" not in err


def test_bug2_train_in_a_notebook_survives_cp1252_when_a_check_reaches_the_threshold(monkeypatch):
    stream = _stream("cp1252")
    monkeypatch.setattr(sys, "stdout", stream)
    run = cd.train(steps=100, seed=1, eval_every=50, eval_episodes=2, threshold=1.0)
    assert run.solved
    text = _text(stream)
    assert ">= 1 -> confirmation on 4 new episodes" in text and "Solved after 50 steps" in text


def test_bug2_cli_evaluate_survives_an_ascii_console(weights_dir, monkeypatch):
    cd.reset_session()
    saved = weights.save_weights(cd.build_model(4, 2), weights_dir / "mine.h5f")
    stream = _stream("ascii")
    monkeypatch.setattr(sys, "stdout", stream)
    assert cli.main(["evaluate", "--weights", str(saved), "--episodes", "3"]) == 0
    assert "3 episodes: mean" in _text(stream) and "+/-" in _text(stream)


# --- bug 3: a closed or full stdout ---------------------------------------------------------


def _train_into(tmp_path: Path, stdout) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cartpole_dqn", "train", "--steps", "50"],
        stdout=stdout,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=cli_environment(tmp_path),
        text=True,
    )


def _saved(tmp_path: Path) -> dict:
    assert weights.weight_files(tmp_path / "weights" / "dqn_weights.h5f")
    return json.loads((tmp_path / "weights" / "dqn_weights.json").read_text())


def test_bug3_train_piped_into_head_1_saves_the_weights(tmp_path):
    process = _train_into(tmp_path, subprocess.PIPE)
    first = process.stdout.readline()  # what `| head -1` reads, before it closes the pipe
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=300) == 2, err
    assert first.startswith("Training a DQN agent")
    assert _saved(tmp_path)["steps"] == 50
    assert "Traceback" not in err and "Exception ignored" not in err
    assert "could not be written" in one_error_line(err) and "saved" in err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_bug3_train_into_a_full_device_saves_the_weights(tmp_path):
    with open("/dev/full", "w") as full:
        process = _train_into(tmp_path, full)
        err = process.stderr.read()
        assert process.wait(timeout=300) == 2, err
    assert _saved(tmp_path)["steps"] == 50
    assert "No space left on device" in one_error_line(err) and "dqn_weights.h5f" in err


# --- bug 9: one seed rule -------------------------------------------------------------------


@pytest.mark.parametrize("command", ["train", "evaluate", "play"])
def test_bug9_the_cli_takes_seeds_up_to_2_to_the_32_minus_1_for_every_command(command, weights_dir, capsys):
    assert cli.main([command, "--seed", "4294967296"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "argument --seed" in line and "4294967295" in line and "4294967296" in line


def test_bug9_the_library_uses_the_same_seed_rule(weights_dir):
    policy = cd.greedy_policy(cd.build_model(4, 2))
    for call in (
        lambda: cd.train(seed=2**32),
        lambda: cd.evaluate(policy, seed=2**32),
        lambda: cd.random_scores(seed=2**32),
        lambda: cd.set_seeds(2**32),
    ):
        with pytest.raises(ArgumentError, match="seed must be a whole number from 0 to 4294967295, got 4294967296"):
            call()
    cd.set_seeds(2**32 - 1)
    assert cd.random_scores(episodes=1, seed=2**32 - 1).episodes == 1


# --- the weak cases: one boundary -----------------------------------------------------------

FRAMES = [np.zeros((20, 30, 3), dtype=np.uint8)] * 3


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cd.train(steps="50"), "steps must be a whole number of at least 1, got '50'"),
        (lambda: cd.train(steps=50.7), "steps must be a whole number of at least 1, got 50.7"),
        (lambda: cd.train(steps=True), "steps must be a whole number of at least 1, got True"),
        (lambda: cd.train(steps=0), "got 0"),
        (lambda: cd.train(seed=-1), "seed must be a whole number from 0 to 4294967295, got -1"),
        (lambda: cd.train(learning_rate="fast"), "learning_rate must be a finite number above 0, got 'fast'"),
        (lambda: cd.train(learning_rate=math.nan), "learning_rate must be a finite number above 0, got nan"),
        (lambda: cd.train(learning_rate=math.inf), "got inf"),
        (lambda: cd.train(learning_rate=0), "got 0"),
        (lambda: cd.train(learning_rate=True), "got True"),
        (lambda: cd.train(eval_every=0), "eval_every"),
        (lambda: cd.train(env_id="CartPole"), "CartPole-v0, CartPole-v1"),
        (lambda: cd.make_env("cartpole-v1"), "CartPole-v0, CartPole-v1"),
        (lambda: cd.make_env(seed=-1), "seed must be"),
        (lambda: cd.make_gymnasium_env(42), "environment id"),
        (lambda: cd.summarize("abc"), "summarize needs a list of episode scores"),
        (lambda: cd.summarize([1, "a"]), "summarize needs a list of episode scores"),
        (lambda: cd.summarize([1, 2], threshold="high"), "threshold"),
        (lambda: cd.evaluate("x", episodes="5"), "episodes must be a whole number"),
        (lambda: cd.evaluate(cd.load_controller(), max_steps=-5), "max_steps must be a whole number of at least 1"),
        (lambda: cd.random_scores(episodes=0), "episodes must be a whole number of at least 1, got 0"),
        (lambda: cd.random_scores(episodes=2.0), "episodes must be a whole number"),
        (lambda: cd.random_scores(seed=-1), "seed must be"),
        (lambda: cd.record_episode(seed="0"), "seed must be"),
        (lambda: cd.record_episode(max_steps=0), "max_steps"),
        (lambda: cd.build_model("4", 2), "states must be a whole number"),
        (lambda: cd.build_model(4, 2, hidden=2.5), "hidden must be a whole number"),
        (lambda: cd.build_agent(None, 2, batch_size=0), "batch_size"),
        (lambda: cd.build_agent(None, 2, nb_steps_warmup=-1), "nb_steps_warmup"),
        (lambda: cd.build_agent(None, 2, target_model_update=math.nan), "target_model_update"),
        (lambda: cd.make_optimizer("fast"), "learning_rate must be a finite number above 0"),
        (lambda: cd.make_optimizer(math.nan), "learning_rate must be a finite number above 0"),
        (lambda: cd.set_seeds(-1), "seed must be"),
        (lambda: cd.save_gif(FRAMES, "x.gif", fps=0), "fps must be a finite number above 0"),
        (lambda: cd.save_gif(FRAMES, "x.gif", every=1.5), "every must be a whole number"),
        (lambda: cd.save_gif(FRAMES, "x.gif", scale="big"), "scale must be a finite number above 0"),
        (lambda: cd.show_animation(FRAMES, fps=True), "fps must be a finite number above 0"),
        (lambda: cd.plot_rewards([1, 2], window=0), "window must be a whole number"),
    ],
)
def test_bad_arguments_are_one_clear_error(call, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CartPoleDQNError) as caught:
        call()
    assert isinstance(caught.value, ValueError | TypeError)
    assert message in str(caught.value)
    assert not (tmp_path / "x.gif").exists()


@pytest.mark.parametrize("returned", [5, None, "left"])
def test_a_policy_returning_no_action_is_a_clear_error(returned):
    with pytest.raises(ArgumentError, match=r"action space of CartPole-v0 is Discrete\(2\)"):
        cd.record_episode(lambda observation: returned)


def test_learning_rate_nan_is_refused_before_training_not_halfway(monkeypatch):
    monkeypatch.setattr(cd.training, "reset_session", lambda seed: pytest.fail("training started"))
    with pytest.raises(ArgumentError, match="learning_rate"):
        cd.train(learning_rate=float("nan"))


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["evaluate", "--env", "CartPole"], "Gymnasium has no environment 'CartPole'"),
        (["train", "--env", "CartPole"], "CartPole-v0, CartPole-v1"),
        (["train", "--steps", "50.7"], "argument --steps: steps must be a whole number of at least 1, got '50.7'"),
        (["play", "--episodes", "0"], "argument --episodes: episodes must be a whole number of at least 1, got 0"),
        (["evaluate", "--seed", "-1"], "argument --seed: seed must be a whole number from 0 to 4294967295, got -1"),
    ],
)
def test_cli_options_use_the_same_rules(argv, expected, weights_dir, capsys):
    assert cli.main(argv) == 2
    assert expected in one_error_line(capsys.readouterr().err)


def test_cli_accepts_grouped_numbers():
    args = cli.build_parser().parse_args(["train", "--steps", "50,000", "--seed", "1_000"])
    assert (args.steps, args.seed) == (50_000, 1_000)


def test_follow_up_command_is_quoted_and_works_from_the_current_folder(weights_dir, tmp_path, monkeypatch, capsys):
    here = tmp_path / "my work"
    here.mkdir()
    monkeypatch.chdir(here)
    assert cli.main(["train", "--steps", "20", "--weights", "../saved runs/a b.h5f"]) == 0
    out = capsys.readouterr().out
    command = next(line for line in out.splitlines() if "check them with:" in line)
    words = shlex.split(command.split("check them with: ", 1)[1].rstrip(")"))
    assert words[-3:-1] == ["evaluate", "--weights"]
    assert weights.weight_files(Path(words[words.index("--weights") + 1]))  # relative to this folder, as a shell would


def test_an_unknown_agent_option_and_an_unknown_activation_are_one_clear_error():
    # found by the adversarial pass of issue 18: both ended in the library's own TypeError/ValueError
    from cartpole_dqn.errors import ArgumentError

    with pytest.raises(ArgumentError, match="unknown_option"):
        cd.train(steps=15, progress=False, unknown_option=1)
    with pytest.raises(ArgumentError, match="banana"):
        cd.build_model(4, 2, activation="banana")
