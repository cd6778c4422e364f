"""The command line: ``python -m cartpole_dqn train | evaluate | play | doctor`` (also ``cartpole-dqn``).

Every known mistake (missing or damaged weights, an unknown environment, a file that
already exists, a bad option, a missing library) ends with one ``error: ...`` line on stderr
and exit code 2; a programming error still shows its traceback. Ctrl+C ends with exit code
130 and SIGTERM with 143; during training both stop it early and save what was reached.
``doctor`` runs even when TensorFlow, keras-rl2 or Gymnasium are missing (this module imports
only the standard library at the top).
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from .errors import CartPoleDQNError, SetupError, describe_setup_problem, whole_number
from .paths import shown

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143

_shown = shown  # the name the command bodies use


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl+C so that a training stops early and saves what it reached."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option as one ``error:`` line (plus where to get help)."""

    def error(self, message: str):
        self.exit(EXIT_ERROR, f"error: {message} (see `{self.prog} --help`)\n")


class _HelpFormatter(argparse.HelpFormatter):
    """Shows ``(default: ...)`` after an option's help, except for on/off switches."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            action.default not in (None, False, argparse.SUPPRESS)
            and "%(default)" not in text
            and action.option_strings
        ):
            text += " (default: %(default)s)"
        return text


#: ``50000``, ``50_000`` or ``50,000`` (commas only between groups of three digits: ``1,2`` is refused).
_WHOLE_NUMBER = re.compile(r"-?(\d{1,3}(,\d{3})+|\d+(_\d+)*)")


def _whole_number(minimum: int):
    """An argparse type: a whole number of at least ``minimum`` (``50_000`` and ``50,000`` accepted)."""

    def parse(text: str) -> int:
        if not _WHOLE_NUMBER.fullmatch(text.strip()):
            raise argparse.ArgumentTypeError(f"expected a whole number such as 50000 or 50,000, got {text!r}")
        value = int(text.strip().replace("_", "").replace(",", ""))
        try:
            return whole_number(value, "it", "this option", minimum)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}") from None

    return parse


_positive_int = _whole_number(1)
_seed = _whole_number(0)


def _weights_path(text: str) -> str:
    """An argparse type: a weights path, refused when empty (kept as text: a trailing ``/`` means a folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a file name such as weights/dqn_weights.h5f")
    return text


def _gif_path(text: str) -> str:
    """An argparse type: a file name ending in .gif, not below a file."""
    if Path(text).suffix.lower() != ".gif" or not Path(text).stem:
        raise argparse.ArgumentTypeError(f"--gif needs a file name ending in .gif, got {text!r}")
    if blocking := next((p for p in Path(text).parents if p.exists() and not p.is_dir()), None):
        raise argparse.ArgumentTypeError(f"{blocking} is a file, not a folder; choose a .gif path inside a folder")
    return text


def _default_env_id() -> str | None:
    try:
        from .envs import DEFAULT_ENV_ID
    except Exception:  # noqa: BLE001 - Gymnasium missing: only `doctor` can run, and it needs no default
        return None
    return DEFAULT_ENV_ID


# --------------------------------------------------------------------------------------------
# commands


def _check_env_fits(stored, env_id: str) -> None:
    """A clear message when weights trained on one environment are used on another."""
    from .envs import EnvironmentSpecError, env_sizes, make_gymnasium_env

    env = make_gymnasium_env(env_id, render_mode=None)
    try:
        states, actions = env_sizes(env)
    finally:
        env.close()
    stack = stored.dense_stack()
    saved = (stack[0][0].shape[0], stack[-1][0].shape[1])
    if saved != (states, actions):
        raise EnvironmentSpecError(
            f"The weights at {_shown(stored.path)} take {saved[0]} numbers and choose among {saved[1]} actions, "
            f"but {env_id} has {states} and {actions}. Use them on the environment they were trained on, "
            f"or train for {env_id} with `train --env {env_id}`."
        )


def _rescue(dqn, failed: Path, metadata: dict) -> tuple[Path | None, str]:
    """Save a trained agent that could not be saved at ``failed`` somewhere else; ``(path or None, last reason)``."""
    from . import weights

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"{failed.name.removesuffix('.h5f')[:60] or 'dqn_weights'}-rescued-{stamp}.h5f"
    reason = ""
    for folder in (weights.DEFAULT_WEIGHTS.parent, Path.home() / "cartpole_dqn_rescued", Path(tempfile.gettempdir())):
        try:
            return weights.save_weights(dqn, folder / name, metadata={**metadata, "rescued_from": str(failed)}), ""
        except weights.WeightsError as exc:
            reason = " ".join(str(exc).split())
    return None, reason


def _train(args: argparse.Namespace) -> int:
    from . import weights
    from .checkpoints import ReservationBusy, training_reservation

    try:  # fail now, not after training
        path = weights.check_save_path(args.weights, overwrite=args.overwrite)
    except weights._WeightsExistError:
        raise weights._WeightsExistError(
            f"Weights already exist at {_shown(args.weights or weights.DEFAULT_WEIGHTS)}; pass --overwrite to replace them, "
            "or choose another name with --weights."
        ) from None
    try:
        with training_reservation(path):
            return _train_and_save(args, path)
    except ReservationBusy:
        raise CartPoleDQNError(
            f"Another training is running that will save to {_shown(path)}; wait until it has finished, "
            "or choose another name with --weights."
        ) from None


def _train_and_save(args: argparse.Namespace, path: Path) -> int:
    """Train, test and save; once training has ended, Ctrl+C and SIGTERM wait until the agent is saved."""
    from .checkpoints import signals_deferred
    from .training import train

    print(
        f"Training a DQN agent on {args.env} for at most {args.steps:,} steps (seed {args.seed}); Ctrl+C stops early."
    )
    run = train(steps=args.steps, seed=args.seed, env_id=args.env, progress=True)
    with signals_deferred():
        return _test_and_save(args, path, run)


def _test_and_save(args: argparse.Namespace, path: Path, run) -> int:
    """Test the trained agent greedily and save it; if the save fails, save it elsewhere and say where."""
    from .evaluation import evaluate
    from .weights import WeightsError, save_weights

    result = evaluate(run.model, args.env, episodes=100, seed=0)
    metadata = {
        "env_id": args.env,
        "seed": args.seed,
        "steps": run.steps,
        "seconds": round(run.seconds, 1),
        "solved_at_step": run.solved_at_step,
        "interrupted": run.interrupted,
        "test_mean": result.mean,
        "test_episodes": result.episodes,
        "made_with": "python -m cartpole_dqn train",
    }
    print(f"Greedy test: {result}")
    try:
        saved = save_weights(run.dqn, path, overwrite=args.overwrite, metadata=metadata)
    except WeightsError as exc:
        rescued, reason = _rescue(run.dqn, path, metadata)
        where = (
            f"The trained agent was saved to {_shown(rescued)} instead."
            if rescued
            else f"It could not be saved anywhere else either ({reason})."
        )
        raise CartPoleDQNError(f"{' '.join(str(exc).split())} {where}") from None
    print(
        f"Saved the weights to {_shown(saved)} (check them with: python -m cartpole_dqn evaluate --weights {_shown(saved)})"
    )
    if run.interrupted:
        how = _TERMINATED or "Ctrl+C"
        print(
            f"Training was stopped with {how} after {run.steps:,} steps; the weights it had reached were saved.",
            file=sys.stderr,
        )
        return EXIT_TERMINATED if _TERMINATED else EXIT_INTERRUPTED
    return EXIT_OK


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate
    from .policy import GreedyPolicy
    from .weights import read_weights

    stored = read_weights(args.weights)  # read once; evaluated in NumPy, no Keras model
    _check_env_fits(stored, args.env)
    result = evaluate(GreedyPolicy.from_stored(stored), args.env, episodes=args.episodes, seed=args.seed)
    print(f"{_shown(stored.path)} on {args.env}: {result}")
    return EXIT_OK


def _play(args: argparse.Namespace) -> int:
    import numpy as np

    from .envs import play_episode

    if args.gif is not None:
        gif = Path(args.gif)
        if gif.exists() and not args.overwrite:
            raise FileExistsError(f"{_shown(gif)} already exists; pass --overwrite or choose another name with --gif.")
    if args.random:
        policy, who = None, "random agent"
    else:
        from .policy import GreedyPolicy
        from .weights import read_weights

        stored = read_weights(args.weights)
        _check_env_fits(stored, args.env)
        policy = GreedyPolicy.from_stored(stored)
        who = f"greedy agent from {_shown(stored.path)}"
    print(f"Playing {args.episodes} episode(s) of {args.env} with the {who}:")
    scores, frames = [], []
    for k in range(args.episodes):
        recording = frames if (k == 0 and args.gif is not None) else None
        scores.append(play_episode(policy, args.env, args.seed + k, frames=recording))
        print(f"  episode {k + 1}: score {scores[-1]:g}")
    if len(scores) > 1:
        print(f"mean score {np.mean(scores):.1f} over {len(scores)} episodes")
    if args.gif is not None:
        from .media import save_gif

        written = save_gif(frames, args.gif)
        print(f"Wrote an animation of episode 1 ({len(frames) - 1} steps) to {_shown(written)}")
    return EXIT_OK


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import check_setup

    checks = check_setup(verbose=True)
    return EXIT_OK if checks.ok else EXIT_FAILED


# --------------------------------------------------------------------------------------------
# parser


def _program_name() -> str:
    return "python -m cartpole_dqn" if Path(sys.argv[0]).name == "__main__.py" else "cartpole-dqn"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its four subcommands (each has ``--help``)."""
    prog = _program_name()
    parser = _Parser(
        prog=prog,
        description="Train, evaluate and watch the DQN agent of the CartPole notebook series, and check the setup.",
        epilog=f"Run `{prog} COMMAND --help` for the options of a command. Start with `{prog} doctor`.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=summary,
            description=description,
            formatter_class=_HelpFormatter,
        )
        return sub

    def env_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--env", default=_default_env_id(), metavar="ID", help="Gymnasium environment id")

    def seed_option(sub: argparse.ArgumentParser, what: str) -> None:
        sub.add_argument("--seed", type=_seed, default=0, help=what)

    def weights_option(sub: argparse.ArgumentParser, what: str) -> None:
        sub.add_argument("--weights", type=_weights_path, default=None, metavar="PATH", help=what)

    train = add(
        "train",
        "train an agent and save its weights",
        "Train the DQN agent of notebook 03 (stops early once it is solved), test it greedily on 100 episodes, "
        "and save its weights with a JSON file of how they were made. Existing weights are kept unless you pass "
        "--overwrite; the shipped pre-trained agent is never overwritten.",
    )
    train.add_argument("--steps", type=_positive_int, default=50_000, help="most training steps to run")
    seed_option(train, "random seed of the weights, the replay memory, exploration and the environment")
    env_option(train)
    weights_option(train, "where to save the weights (default: weights/dqn_weights.h5f)")
    train.add_argument("--overwrite", action="store_true", help="replace weights that already exist at --weights")
    train.set_defaults(handler=_train)

    evaluate = add(
        "evaluate",
        "score saved weights over many episodes",
        "Load saved weights into a fresh model and play --episodes episodes greedily (the action with the highest "
        "Q-value), then print the mean score and whether the environment counts as solved.",
    )
    weights_option(evaluate, "weights to load (default: the shipped agent, weights/dqn_pretrained.h5f)")
    evaluate.add_argument("--episodes", type=_positive_int, default=100, help="number of episodes")
    seed_option(evaluate, "seed of the first episode (episode k uses seed + k)")
    env_option(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    play = add(
        "play",
        "play episodes and optionally save an animation",
        "Play a few episodes with the greedy agent (or a random one with --random), print each score, and with "
        "--gif write an animated GIF of the first episode.",
    )
    weights_option(play, "weights of the agent (default: the shipped agent, weights/dqn_pretrained.h5f)")
    play.add_argument("--random", action="store_true", help="take random actions instead (no weights needed)")
    play.add_argument("--episodes", type=_positive_int, default=3, help="number of episodes")
    seed_option(play, "seed of the first episode (episode k uses seed + k)")
    env_option(play)
    play.add_argument(
        "--gif",
        metavar="PATH",
        type=_gif_path,
        default=None,
        help="write an animation of the first episode to this .gif file",
    )
    play.add_argument("--overwrite", action="store_true", help="replace the --gif file if it exists")
    play.set_defaults(handler=_play)

    doctor = add(
        "doctor",
        "check that this computer is ready for the workshop",
        "Check Python, the installed package versions against requirements.txt, Keras 2, the Gymnasium API, "
        "drawing the cart, the weights/ folder and the shipped weights. Exit code 0 when everything is fine.",
    )
    doctor.set_defaults(handler=_doctor)
    return parser


#: The name of the signal (SIGTERM, SIGHUP) that stopped this run, or "" (none, or Ctrl+C).
_TERMINATED = ""


def _on_sigterm(signum, frame) -> None:
    """SIGTERM or SIGHUP: stop like Ctrl+C (a training saves what it reached), exit code 143."""
    global _TERMINATED
    _TERMINATED = signal.Signals(signum).name
    raise _Terminated()


def _setup_problem() -> BaseException | None:
    package = sys.modules.get(__package__)
    return getattr(package, "_SETUP_PROBLEM", None)


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    global _TERMINATED
    _TERMINATED = ""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a bad option (already reported)
        return int(exit_.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_ERROR
    previous = {}
    for name in ("SIGTERM", "SIGHUP"):  # treat a kill or a closed terminal like Ctrl+C (SIGHUP: not on Windows)
        try:
            previous[name] = signal.signal(getattr(signal, name), _on_sigterm)
        except (AttributeError, ValueError, OSError):  # not the main thread, or no such signal: leave it alone
            pass
    try:
        if args.handler is not _doctor and (problem := _setup_problem()) is not None:
            raise SetupError(
                f"{describe_setup_problem(problem)} Run `python -m cartpole_dqn doctor` to see every missing piece "
                "and its fix."
            )
        return args.handler(args)
    except KeyboardInterrupt:
        if _TERMINATED:
            print(f"error: stopped by {_TERMINATED}.", file=sys.stderr)
            return EXIT_TERMINATED
        print("error: stopped with Ctrl+C.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CartPoleDQNError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # FileExistsError, a folder that vanished, ...: about the machine, not a bug
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"error: {' '.join((exc.strerror or str(exc)).split())}{where}. Check the path and that you may write there.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
