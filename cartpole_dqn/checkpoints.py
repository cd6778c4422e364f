"""The files of a saved agent: where they are, how they are locked, read and put in place.

:mod:`cartpole_dqn.weights` holds the public API and its messages; this module holds the file
mechanics it relies on, so each can be read on its own:

* a checkpoint ``x.h5f`` is two files, ``x.h5f.index`` and ``x.h5f.data-00000-of-00001``, plus
  the JSON record ``x.json``;
* readers and writers of one checkpoint take a lock (a file in the system's temporary folder named
  after the checkpoint's real path; shared to read, exclusive to put new files in place), so a
  reader never sees half of a save, and two saves never interleave their renames (POSIX
  ``fcntl``; on Windows there is no lock);
* a training that will save to ``x.h5f`` holds a second such lock, so a second training to the
  same place is refused before it starts, not after;
* TensorFlow reads a checkpoint prefix as a glob pattern, so a name with ``[``, ``]``, ``*`` or
  ``?`` is read through a copy under a plain name;
* new files are written in a staging folder next to the destination and renamed into place;
  if any step fails, every previous file is put back.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, saves are still atomic per file
    fcntl = None

__all__ = [
    "index_file",
    "data_files",
    "checkpoint_files",
    "file_sha256",
    "locked",
    "training_reservation",
    "ReservationBusy",
    "plain_copy",
    "move_into_place",
    "probe_writable",
]

_DATA_SUFFIX = re.compile(r"\.data-\d{5}-of-\d{5}$")
_GLOB_CHARACTERS = frozenset("*?[]")


def strip_file_suffix(prefix: Path) -> Path:
    """``x.h5f`` for any of ``x.h5f``, ``x.h5f.index``, ``x.h5f.data-00000-of-00001``."""
    name = prefix.name
    if name.endswith(".index"):
        return prefix.with_name(name[: -len(".index")])
    if match := _DATA_SUFFIX.search(name):
        return prefix.with_name(name[: match.start()])
    return prefix


def index_file(prefix: Path) -> Path:
    return prefix.with_name(prefix.name + ".index")


def data_files(prefix: Path) -> list[Path]:
    pattern = os.path.join(glob.escape(str(prefix.parent)), glob.escape(prefix.name) + ".data-?????-of-?????")
    return sorted(Path(p) for p in glob.glob(pattern))


def checkpoint_files(prefix: Path) -> list[Path]:
    """The files of the checkpoint that exist: ``[x.h5f.index, x.h5f.data-…]`` (either may be missing)."""
    index = index_file(prefix)
    return ([index] if index.is_file() else []) + data_files(prefix)


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, as 64 hexadecimal digits (the doctor uses it too: standard library only)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _lock_path(prefix: Path, kind: str) -> Path:
    """A lock file for ``prefix`` in the system's temporary folder (works for read-only folders too)."""
    key = hashlib.sha256(os.path.realpath(prefix).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    folder = Path(tempfile.gettempdir()) / f"cartpole-dqn-locks-{getattr(os, 'getuid', lambda: 0)()}"
    folder.mkdir(exist_ok=True)
    return folder / f"{key}.{kind}"


def _lock_file(prefix: Path, kind: str):
    """The open lock file of ``kind`` for ``prefix`` (the caller closes it), or None where there is no lock."""
    if fcntl is None:
        return None
    try:
        return open(_lock_path(prefix, kind), "a+b")  # noqa: SIM115 - closed by the caller
    except OSError:
        return None


@contextlib.contextmanager
def locked(prefix: Path, exclusive: bool) -> Iterator[None]:
    """Hold the checkpoint's lock: shared for reading, exclusive for putting new files in place.

    Where the lock file cannot be made (a read-only folder, Windows), nobody can write there
    either, or there is no lock to take: the caller goes ahead unlocked.
    """
    handle = _lock_file(prefix, "lock")
    try:
        if handle is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        if handle is not None:
            handle.close()  # also releases the lock


class ReservationBusy(Exception):
    """Another process is training an agent that it will save at the same place."""


@contextlib.contextmanager
def training_reservation(prefix: Path) -> Iterator[None]:
    """Hold ``.x.h5f.training`` for a training that will save to ``x.h5f``; ReservationBusy if taken."""
    handle = _lock_file(prefix, "training")
    try:
        if handle is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ReservationBusy(str(prefix)) from None
        yield
    finally:
        if handle is not None:
            handle.close()


def has_glob_characters(path: Path) -> bool:
    return any(c in _GLOB_CHARACTERS for c in str(path))


@contextlib.contextmanager
def plain_copy(prefix: Path, files: list[Path]) -> Iterator[Path]:
    """``prefix`` itself, or (when its path has glob characters) a temporary copy under a plain name."""
    if not has_glob_characters(prefix):
        yield prefix
        return
    folder = Path(tempfile.mkdtemp(prefix="cartpole-dqn-read-"))
    try:
        copy = folder / "weights"
        for file in files:
            shutil.copyfile(file, folder / ("weights" + file.name[len(prefix.name) :]))
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def probe_writable(prefix: Path, names: list[str]) -> None:
    """Create (and remove) a staging folder next to ``prefix`` holding empty files of ``names``.

    Raises the ``OSError`` a save would meet: a read-only folder, a path under a file, a name
    too long for the filesystem. Creates missing parent folders (a save would too).
    """
    prefix.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".save-", dir=prefix.parent))
    try:
        for name in names:
            (staging / name).write_bytes(b"")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold back Ctrl+C, SIGTERM and SIGHUP for the few renames that put a save in place; deliver them afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous: dict[int, object] = {}
    try:
        for number in (signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])):
            previous[number] = signal.signal(number, lambda signum, frame: received.append(signum))
    except (ValueError, OSError):  # pragma: no cover - no signals here
        for number, handler in previous.items():
            signal.signal(number, handler)
        yield
        return
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in received[:1]:
            handler = previous[number]
            if callable(handler):
                handler(number, None)
            elif number == signal.SIGINT and handler == signal.SIG_DFL:
                raise KeyboardInterrupt
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), number)


def move_into_place(moves: list[tuple[Path, Path]], staging: Path, prefix: Path) -> None:
    """Rename each ``(new, destination)`` under the exclusive lock; on any failure put every previous file back.

    Previous files are first moved into ``staging`` (same folder, so renames are atomic), and
    every old data shard that the new checkpoint does not replace is removed at the end.
    """
    destinations = {destination for _, destination in moves}
    stale = [file for file in data_files(prefix) if file not in destinations]
    with signals_deferred(), locked(prefix, exclusive=True):
        backups: list[tuple[Path, Path]] = []
        placed: list[Path] = []
        try:
            for number, destination in enumerate([d for _, d in moves] + stale):
                if destination.exists():
                    backup = staging / f"previous-{number}"
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
