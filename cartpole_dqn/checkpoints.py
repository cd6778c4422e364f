"""Every file the package writes goes through :func:`put`, and every file it reads through :func:`read`.

Standard library only (the doctor uses it). :func:`named` holds the suffix rule (``.gif``, ``.png``,
``.h5f``). :func:`put` never writes the shipped agent (judged by what a target *is*: symlinks
resolved, bytes compared), refuses existing files without ``overwrite=True`` and anything but a
regular file, stages the new files fsynced in ``.<name>.save-…`` next to the targets and renames
them into place in order (a checkpoint's record last, so its checksums tell a reader whether it
sees one complete save). Only a killed process can leave a set half switched; its staging
folder then holds the rest, and the next load names it (:func:`leftovers`). :func:`read` never
blocks (a FIFO is refused at once), bounds the size and takes no lock: a stopped process cannot
make a reader wait. Writers of one name hold a short lock for the renames only.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import os
import re
import shutil
import signal
import stat
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import settings
from .errors import ProtectedWeightsError, WeightsWriteError, _WeightsExistError, _WeightsPathError
from .paths import shown

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks; each file still switches atomically
    fcntl = None

__all__ = ["named", "put", "read", "read_problem", "is_shipped", "leftovers", "file_sha256", "index_file"]

#: The shipped agent's files, protected in the project's ``weights/`` and in ``settings.WEIGHTS_DIR``.
SHIPPED_NAMES = ("dqn_pretrained.h5f.index", "dqn_pretrained.h5f.data-00000-of-00001", "dqn_pretrained.json")
#: The largest file :func:`read` reads (a CartPole checkpoint is a few KB).
MAX_BYTES = 64 << 20
_DATA_SUFFIX = re.compile(r"\.data-\d{5}-of-\d{5}$")
_WRITER_WAIT_SECONDS = 5.0


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
    return ([index] if os.path.lexists(index) else []) + data_files(prefix)


def leftovers(name: Path) -> list[Path]:
    """Staging folders of saves to ``name`` that never finished (a killed process leaves one)."""
    pattern = os.path.join(glob.escape(str(name.parent)), "." + glob.escape(name.name) + ".save-*")
    return sorted(Path(p) for p in glob.glob(pattern) if os.path.isdir(p))


# --------------------------------------------------------------------------------------------
# names and reading


def named(path: str | os.PathLike, suffix: str, example: str) -> Path:
    """``path`` as a Path whose name ends in ``suffix``; a clear error for a non-path, empty name or folder."""
    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
        raise TypeError(f"A file name such as {example!r} is needed here, not {path!r}.")
    text = os.fspath(path)
    if not text.strip():
        raise _WeightsPathError(f"The file name is empty; give one such as {example!r}.")
    result = Path(text).expanduser()
    if text.endswith(("/", os.sep)) or result.name in ("", ".", ".."):
        raise _WeightsPathError(
            f"{text!r} names a folder, not a file; give a file name inside it, such as {example!r}."
        )
    if not result.name.endswith(suffix) or result.name == suffix:
        fixed = (
            result.with_suffix(suffix) if result.suffix and suffix != ".h5f" else result.with_name(result.name + suffix)
        )
        raise _WeightsPathError(f"The name {shown(result)} must end in {suffix}: use {shown(fixed)}.")
    return result


class NotARegularFile(OSError):
    """A FIFO, device, socket or folder where a file was expected (also: a file too large to be ours)."""


def _kind(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket")]
    return next((text for test, text in kinds if test(mode)), "a device")


def read(path: str | os.PathLike, limit: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; an ``OSError`` otherwise, at once (never a hang)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        mode, size = info.st_mode, info.st_size
        if not stat.S_ISREG(mode):
            raise NotARegularFile(errno.EINVAL, f"it is {_kind(mode)}, not a regular file", os.fspath(path))
        if size > limit:
            raise NotARegularFile(errno.EFBIG, f"it holds {size:,} bytes, more than the {limit:,} allowed")
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read(limit + 1)
        if len(data) > limit:
            raise NotARegularFile(errno.EFBIG, f"it holds more than the {limit:,} bytes allowed")
        return data
    finally:
        os.close(fd)


def read_problem(exc: OSError) -> str:
    """What an ``OSError`` met while reading means, in a few words (never a hint about writing)."""
    if isinstance(exc, NotARegularFile):
        return exc.strerror
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "you may not read it; fix its permissions"
    if exc.errno == errno.ENOENT:
        return "it does not exist"
    return exc.strerror or str(exc)


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, as 64 hexadecimal digits (the doctor uses it too)."""
    return hashlib.sha256(read(path)).hexdigest()


# --------------------------------------------------------------------------------------------
# writing


def _shipped_files() -> list[Path]:
    folders = {Path(settings.WEIGHTS_DIR), settings.PROJECT_ROOT / "weights"}
    return [folder / name for folder in folders for name in SHIPPED_NAMES]


def is_shipped(path: str | os.PathLike) -> bool:
    """Whether ``path`` is one of the shipped agent's files: the same file (through symlinks) or the same bytes."""
    real = os.path.normcase(os.path.realpath(path))
    shipped = _shipped_files()
    if any(real == os.path.normcase(os.path.realpath(file)) for file in shipped):
        return True
    try:
        target = os.stat(real)
    except OSError:
        return False
    content = None  # the target's bytes, read once, only if a shipped file has its size
    for file in shipped:
        with contextlib.suppress(OSError):
            other = os.stat(file)
            if os.path.samestat(target, other):
                return True
            if stat.S_ISREG(target.st_mode) and other.st_size == target.st_size:
                content = read(real) if content is None else content
                if content == read(file):
                    return True
    return False


def write_problem(path: Path, exc: OSError) -> str:
    """What an ``OSError`` met while writing means for a learner, in a few words."""
    if blocking := next((p for p in path.parents if p.exists() and not p.is_dir()), None):
        return f"{shown(blocking)} is a file, not a folder; choose a path inside a folder"
    if exc.errno == errno.ENAMETOOLONG:
        return f"the name {path.name!r} is too long for this filesystem; choose a shorter one"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "that folder is read-only for you; choose a folder you can write to, or fix its permissions"
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return "the disk is full (or a size limit was reached); free some space or choose another disk"
    return f"{exc.strerror or exc}; check the path and that you may write there"


def _check_target(target: Path, overwrite: bool, protect: bool) -> None:
    if protect and is_shipped(target):
        raise ProtectedWeightsError(
            f"{shown(target)} holds the shipped pre-trained agent, which the notebooks rely on, so it is never "
            "overwritten. Save under another name."
        )
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return
    except OSError:
        return  # the write itself will say why (a path below a file, a name too long, ...)
    if not stat.S_ISREG(mode):
        raise _WeightsPathError(f"{shown(target)} is {_kind(mode)}, not a regular file; choose another name.")
    if not overwrite:
        raise _WeightsExistError(f"{shown(target)} already exists; pass overwrite=True or choose another name.")


def put(
    files: Sequence[tuple[Path, bytes]],
    overwrite: bool = False,
    name: Path | None = None,
    protect: bool = True,
    dry_run: bool = False,
) -> None:
    """Write ``files`` (``(path, bytes)``, all in one folder) atomically, in order; the one write path.

    ``name`` is what the files are saved as (a checkpoint prefix; default: the first file): it
    names the staging folder and the writers' lock. ``dry_run`` goes as far as the staged,
    fsynced files and removes them: it raises what a real write would meet.
    """
    targets = [Path(os.path.realpath(path)) for path, _ in files]
    for target in targets:
        _check_target(target, overwrite, protect)
    key = Path(os.path.realpath(name if name is not None else files[0][0]))
    staging, placed = None, 0
    try:
        key.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key.name}.save-", dir=key.parent))
        for target, (_, data) in zip(targets, files, strict=True):
            with open(staging / target.name, "xb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
        if dry_run:
            return
        with _locked(key, "lock", _WRITER_WAIT_SECONDS), signals_deferred():
            for target in targets:
                os.replace(staging / target.name, target)
                placed += 1
        _fsync_folder(key.parent)
    except ReservationBusy:
        raise WeightsWriteError(
            f"Another process has been writing {shown(key)} for over {_WRITER_WAIT_SECONDS:.0f} s (it may be "
            "stopped); finish or end it, or choose another name."
        ) from None
    except OSError as exc:
        if 0 < placed < len(targets):
            raise WeightsWriteError(
                f"Writing {shown(key)} stopped halfway ({write_problem(key, exc)}): the files not yet in place are "
                f"in {shown(staging)}; move them next to {key.name} to finish it."
            ) from None
        raise WeightsWriteError(
            f"Writing {shown(key)} failed ({write_problem(key, exc)}); the previous files, if any, are unchanged."
        ) from None
    finally:
        if staging is not None and placed in (0, len(targets)):
            shutil.rmtree(staging, ignore_errors=True)


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _lock_file(key: Path, kind: str):
    """The open lock file of ``kind`` for ``key`` in the system's temporary folder, or None (no locks here)."""
    if fcntl is None:
        return None
    digest = hashlib.sha256(os.fspath(key).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    folder = Path(tempfile.gettempdir()) / f"cartpole-dqn-locks-{getattr(os, 'getuid', lambda: 0)()}"
    try:
        folder.mkdir(exist_ok=True)
        return open(folder / f"{digest}.{kind}", "a+b")  # noqa: SIM115 - closed by the caller
    except OSError:
        return None


class ReservationBusy(Exception):
    """Another process holds the lock (a training that will save at the same place, or a writer)."""


@contextlib.contextmanager
def _locked(key: Path, kind: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the exclusive lock ``kind`` of ``key``, waiting at most ``wait`` seconds, else ReservationBusy."""
    handle, deadline = _lock_file(key, kind), time.monotonic() + wait
    try:
        while handle is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ReservationBusy(str(key)) from None
                time.sleep(0.02)
        yield
    finally:
        if handle is not None:
            handle.close()


def training_reservation(prefix: Path):
    """Hold a lock for a training that will save to ``prefix``; ReservationBusy at once if another holds it."""
    return _locked(Path(os.path.realpath(prefix)), "training")


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold back Ctrl+C, SIGTERM and SIGHUP until the block is done; deliver the first one afterwards."""
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
