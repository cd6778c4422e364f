"""The command line: ``python -m cartpole_dqn train | evaluate | play | doctor`` (also ``cartpole-dqn``).

A known mistake is one ``error: ...`` line on stderr and exit code 2; a bug shows its traceback.
Ctrl+C (130) and SIGTERM (143) stop a training early and save what it reached. Output goes through
:func:`~cartpole_dqn.console.say`, so an odd console, a closed pipe or a full disk never stops a
command before its work is saved (exit code 2 afterwards if the output was lost). Only the standard
library is imported at the top: ``doctor`` runs without TensorFlow, keras-rl2 or Gymnasium.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from .console import lost, say
from .errors import ArgumentError, CartPoleDQNError, SetupError, describe_setup_problem, seed, whole_number
from .paths import for_shell, shown

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl+C so that a training stops early and saves what it reached."""


class _Parser(argparse.ArgumentParser):
    """argparse whose bad-option report is one ``error:`` line (plus where to get help), not usage + error."""

    def error(self, message: str):
        say(f"error: {message} (see `{self.prog} --help`)", sys.stderr)
        self.exit(EXIT_ERROR)


#: ``50000``, ``50_000`` or ``50,000`` (commas only between groups of three digits: ``1,2`` is refused).
_GROUPED = re.compile(r"-?(\d{1,3}(,\d{3})+|\d+(_\d+)*)")


def _checked(check, name: str):
    """An argparse type: the text as a whole number (``50_000``, ``50,000``), then the library's own ``check``."""

    def parse(text: str):
        value = int(text.strip().replace("_", "").replace(",", "")) if _GROUPED.fullmatch(text.strip()) else text
        try:
            return check(value, name)
        except ArgumentError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _gif_path(text: str) -> str:
    """An argparse type: a file name ending in .gif (the one name rule of ``checkpoints.named``), not below a file."""
    from .checkpoints import named

    try:
        named(text, ".gif", "episode.gif")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
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
    from .errors import _WeightsExistError

    try:  # fail now, not after training
        path = weights.check_save_path(args.weights, overwrite=args.overwrite)
    except _WeightsExistError:
        raise _WeightsExistError(
            f"Weights already exist at {shown(args.weights or weights.DEFAULT_WEIGHTS)}; pass --overwrite to replace "
            "them, or choose another name with --weights."
        ) from None
    try:
        with training_reservation(path):
            return _train_and_save(args, path)
    except ReservationBusy:
        raise CartPoleDQNError(
            f"Another training is running that will save to {shown(path)}; wait until it has finished, "
            "or choose another name with --weights."
        ) from None


def _train_and_save(args: argparse.Namespace, path: Path) -> int:
    """Train, test and save, then report; once training has ended, Ctrl+C and SIGTERM wait until the agent is saved."""
    from .checkpoints import signals_deferred
    from .evaluation import evaluate
    from .training import train

    say(f"Training a DQN agent on {args.env} for at most {args.steps:,} steps (seed {args.seed}); Ctrl+C stops early.")
    run = train(steps=args.steps, seed=args.seed, env_id=args.env, progress=True)
    with signals_deferred():
        result = evaluate(run.model, args.env, episodes=100, seed=0)
        args.saved = _save(args, path, run, result)
    env = f" --env {args.env}" if args.env != _default_env_id() else ""
    say(f"Greedy test: {result}")
    say(
        f"Saved the weights to {shown(args.saved)} (check them with: "
        f"{_program_name()} evaluate --weights {for_shell(args.saved)}{env})"
    )
    if run.interrupted:
        how = _TERMINATED or "Ctrl+C"
        say(
            f"Training was stopped with {how} after {run.steps:,} steps; the weights it had reached were saved.",
            sys.stderr,
        )
        return EXIT_TERMINATED if _TERMINATED else EXIT_INTERRUPTED
    return EXIT_OK


def _save(args: argparse.Namespace, path: Path, run, result) -> Path:
    """Save the trained agent with its record; if that fails, save it elsewhere and say where."""
    from .weights import WeightsError, save_weights

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
    try:
        return save_weights(run.dqn, path, overwrite=args.overwrite, metadata=metadata)
    except WeightsError as exc:
        if isinstance(exc, ValueError):  # NaN weights: no copy elsewhere would be any better
            raise
        rescued, reason = _rescue(run.dqn, path, metadata)
        where = (
            f"The trained agent was saved to {shown(rescued)} instead."
            if rescued
            else f"It could not be saved anywhere else either ({reason})."
        )
        raise CartPoleDQNError(f"{' '.join(str(exc).split())} {where}") from None


def _greedy(args: argparse.Namespace):
    """The greedy policy of the weights at ``--weights`` (read once, NumPy only), checked against ``--env``."""
    from .envs import EnvironmentSpecError, env_sizes, make_gymnasium_env
    from .policy import GreedyPolicy
    from .weights import read_weights

    stored = read_weights(args.weights)
    policy, env = GreedyPolicy.from_stored(stored), make_gymnasium_env(args.env, render_mode=None)
    states, actions = env_sizes(env)
    env.close()
    if (policy.states, policy.actions) != (states, actions):
        raise EnvironmentSpecError(
            f"The weights at {shown(stored.path)} take {policy.states} numbers and choose among {policy.actions} "
            f"actions, but {args.env} has {states} and {actions}. Use them on the environment they were trained on, "
            f"or train for {args.env} with `train --env {args.env}`."
        )
    return policy, stored.path


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate

    policy, path = _greedy(args)
    say(f"{shown(path)} on {args.env}: {evaluate(policy, args.env, episodes=args.episodes, seed=args.seed)}")
    return EXIT_OK


def _play(args: argparse.Namespace) -> int:
    from .envs import play_episode

    if args.gif is not None and Path(args.gif).exists() and not args.overwrite:
        raise FileExistsError(f"{shown(args.gif)} already exists; pass --overwrite or choose another name with --gif.")
    if args.gif is not None:  # the shipped agent, a FIFO, a read-only folder: refused before playing
        from .checkpoints import put

        put([(Path(args.gif), b"")], overwrite=True, dry_run=True)
    policy, path = (None, None) if args.random else _greedy(args)
    who = "random agent" if args.random else f"greedy agent from {shown(path)}"
    say(f"Playing {args.episodes} episode(s) of {args.env} with the {who}:")
    scores, frames = [], []
    for k in range(args.episodes):
        recording = frames if (k == 0 and args.gif is not None) else None
        scores.append(play_episode(policy, args.env, args.seed + k, frames=recording))
        say(f"  episode {k + 1}: score {scores[-1]:g}")
    if len(scores) > 1:
        say(f"mean score {sum(scores) / len(scores):.1f} over {len(scores)} episodes")
    if args.gif is not None:
        from .media import save_gif

        written = save_gif(frames, args.gif, overwrite=args.overwrite)
        say(f"Wrote an animation of episode 1 ({len(frames) - 1} steps) to {shown(written)}")
    return EXIT_OK


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import check_setup

    return EXIT_OK if check_setup(verbose=True).ok else EXIT_FAILED


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

    def add(name: str, summary: str, description: str, handler, weights: str | None = None, episodes: int = 0):
        sub = commands.add_parser(name, help=summary, description=description)
        sub.set_defaults(handler=handler)
        if weights is None:
            return sub
        sub.add_argument("--weights", default=None, metavar="PATH", help=weights)
        if episodes:
            count = _checked(whole_number, "episodes")
            sub.add_argument(
                "--episodes", type=count, default=episodes, help="number of episodes (default: %(default)s)"
            )
        what = "random seed of the weights, the replay memory, exploration and the environment"
        what = what if name == "train" else "seed of the first episode (episode k uses seed + k)"
        sub.add_argument("--seed", type=_checked(seed, "seed"), default=0, help=f"{what} (default: %(default)s)")
        sub.add_argument("--env", default=_default_env_id(), metavar="ID", help="Gymnasium id (default: %(default)s)")
        return sub

    shipped = "(default: the shipped agent, weights/dqn_pretrained.h5f)"
    train = add(
        "train",
        "train an agent and save its weights",
        "Train the DQN agent of notebook 03 (stops early once it is solved), test it greedily on 100 episodes, "
        "and save its weights with a JSON file of how they were made. Existing weights are kept unless you pass "
        "--overwrite; the shipped pre-trained agent is never overwritten.",
        _train,
        weights="where to save the weights (default: weights/dqn_weights.h5f)",
    )
    steps = _checked(whole_number, "steps")
    train.add_argument("--steps", type=steps, default=50_000, help="most training steps to run (default: %(default)s)")
    train.add_argument("--overwrite", action="store_true", help="replace weights that already exist at --weights")
    add(
        "evaluate",
        "score saved weights over many episodes",
        "Load saved weights into a fresh model and play --episodes episodes greedily (the action with the highest "
        "Q-value), then print the mean score and whether the environment counts as solved.",
        _evaluate,
        weights=f"weights to load {shipped}",
        episodes=100,
    )
    play = add(
        "play",
        "play episodes and optionally save an animation",
        "Play a few episodes with the greedy agent (or a random one with --random), print each score, and with "
        "--gif write an animated GIF of the first episode.",
        _play,
        weights=f"weights of the agent {shipped}",
        episodes=3,
    )
    play.add_argument("--random", action="store_true", help="take random actions instead (no weights needed)")
    play.add_argument("--gif", metavar="PATH", type=_gif_path, help="write an animation of the first episode here")
    play.add_argument("--overwrite", action="store_true", help="replace the --gif file if it exists")
    add(
        "doctor",
        "check that this computer is ready for the workshop",
        "Check Python, the installed package versions against requirements.txt, Keras 2, the Gymnasium API, "
        "drawing the cart, the weights/ folder and the shipped weights. Exit code 0 when everything is fine.",
        _doctor,
    )
    return parser


#: The name of the signal (SIGTERM, SIGHUP) that stopped this run, or "" (none, or Ctrl+C).
_TERMINATED = ""


def _on_sigterm(signum, frame) -> None:
    """SIGTERM or SIGHUP: stop like Ctrl+C (a training saves what it reached), exit code 143."""
    global _TERMINATED
    _TERMINATED = signal.Signals(signum).name
    raise _Terminated()


def _run(args: argparse.Namespace) -> int:
    """The command's handler, with every known mistake as one ``error:`` line."""
    try:
        if args.handler is not _doctor and (problem := getattr(sys.modules[__package__], "_SETUP_PROBLEM", None)):
            raise SetupError(
                f"{describe_setup_problem(problem)} Run `python -m cartpole_dqn doctor` to see every missing piece "
                "and its fix."
            )
        if args.handler is not _doctor:
            from .envs import check_env_id

            check_env_id(args.env)
        return args.handler(args)
    except KeyboardInterrupt:
        say(f"error: stopped by {_TERMINATED}." if _TERMINATED else "error: stopped with Ctrl+C.", sys.stderr)
        return EXIT_TERMINATED if _TERMINATED else EXIT_INTERRUPTED
    except CartPoleDQNError as exc:
        say(f"error: {' '.join(str(exc).split())}", sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # FileExistsError, a folder that vanished, ...: about the machine, not a bug
        where = f" ({exc.filename})" if exc.filename else ""
        text = " ".join((exc.strerror or str(exc)).split())
        say(f"error: {text}{where}. Check the path and that you may write there.", sys.stderr)
        return EXIT_ERROR


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
        say(parser.format_help().rstrip())
        return EXIT_ERROR
    previous = {}
    for name in ("SIGTERM", "SIGHUP"):  # treat a kill or a closed terminal like Ctrl+C (SIGHUP: not on Windows)
        try:
            previous[name] = signal.signal(getattr(signal, name), _on_sigterm)
        except (AttributeError, ValueError, OSError):  # not the main thread, or no such signal: leave it alone
            pass
    try:
        code = _run(args)
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)
    if (error := lost(sys.stdout)) is not None:  # the work is done (and saved): now say that its report was lost
        reason = getattr(error, "strerror", None) or str(error)
        saved = f" The weights were saved to {shown(args.saved)}." if getattr(args, "saved", None) else ""
        say(f"error: the output could not be written ({reason}); the command still finished.{saved}", sys.stderr)
        return code or EXIT_ERROR
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
