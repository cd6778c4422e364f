"""Issue 18: one write path and one read path for every file the package touches.

Each ``test_bugN_...`` reproduces a broken promise of the issue's list (it failed before the fix).
Nothing here writes into the repository's ``weights/``; the shipped files are only read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

from cartpole_dqn import build_model, cli, media, reset_session, weights
from cartpole_dqn.deploy import load_controller
from cartpole_dqn.errors import CartPoleDQNError
from cartpole_dqn.settings import PROJECT_ROOT
from cartpole_dqn.weights import (
    ProtectedWeightsError,
    WeightsCorruptError,
    WeightsError,
    load_weights,
    save_weights,
)

import numpy as np
import pytest
from cli_helpers import one_error_line

SHIPPED_RECORD = PROJECT_ROOT / "weights" / "dqn_pretrained.json"
STATES = np.random.default_rng(2).normal(size=(32, 1, 4)).astype(np.float32)


@pytest.fixture(autouse=True)
def fresh_graph():
    reset_session()


def frames(n: int = 3) -> list[np.ndarray]:
    return [np.full((20, 30, 3), 40 * k, dtype=np.uint8) for k in range(n)]


def snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# --- bug 1: the shipped agent is protected by what a file is, for every file written ----------


def test_bug1_gif_cannot_overwrite_the_shipped_record_through_a_symlink(tmp_path):
    before = SHIPPED_RECORD.read_bytes()
    link = tmp_path / "evil.gif"
    link.symlink_to(SHIPPED_RECORD)
    with pytest.raises(ProtectedWeightsError, match="shipped pre-trained agent"):
        media.save_gif(frames(), link, overwrite=True)
    assert SHIPPED_RECORD.read_bytes() == before and link.is_symlink()


def test_bug1_play_gif_overwrite_through_a_symlink_leaves_the_shipped_record(tmp_path, capsys):
    before = SHIPPED_RECORD.read_bytes()
    link = tmp_path / "evil.gif"
    link.symlink_to(SHIPPED_RECORD)
    assert cli.main(["play", "--random", "--episodes", "1", "--gif", str(link), "--overwrite"]) == 2
    assert "shipped pre-trained agent" in one_error_line(capsys.readouterr().err)
    assert SHIPPED_RECORD.read_bytes() == before


def test_bug1_a_copy_of_a_shipped_file_is_protected_by_its_content(tmp_path):
    copy = tmp_path / "copy.gif"
    copy.write_bytes(SHIPPED_RECORD.read_bytes())
    with pytest.raises(ProtectedWeightsError):
        media.save_gif(frames(), copy, overwrite=True)
    assert copy.read_bytes() == SHIPPED_RECORD.read_bytes()


def test_save_gif_keeps_the_overwrite_and_suffix_rules(tmp_path):
    before = SHIPPED_RECORD.read_bytes()
    with pytest.raises(WeightsError):
        media.save_gif(frames(), SHIPPED_RECORD, overwrite=True)
    assert SHIPPED_RECORD.read_bytes() == before
    with pytest.raises(ValueError, match=r"must end in \.gif.*x\.gif"):
        media.save_gif(frames(), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
    path = media.save_gif(frames(), tmp_path / "x.gif")
    first = path.read_bytes()
    with pytest.raises(FileExistsError, match="x.gif already exists; pass overwrite=True"):
        media.save_gif(frames(5), path)
    assert path.read_bytes() == first
    media.save_gif(frames(5), path, overwrite=True)
    assert path.read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.gif"]  # no temporary files left
    os.mkfifo(tmp_path / "pipe.gif")
    with pytest.raises(WeightsError, match="not a regular file"):
        media.save_gif(frames(), tmp_path / "pipe.gif", overwrite=True)


# --- bug 4: finite weights only -------------------------------------------------------------


def test_bug4_nan_weights_are_not_saved_and_not_scored(tmp_path, capsys):
    model = build_model(4, 2)
    broken = model.get_weights()
    broken[0][0, 0] = np.nan
    model.set_weights(broken)
    with pytest.raises(WeightsError, match="not finite.*diverged.*learning rate"):
        save_weights(model, tmp_path / "nan.h5f")
    assert list(tmp_path.iterdir()) == []
    model.save_weights(str(tmp_path / "raw.h5f"))  # written without the package: no record either
    with pytest.raises(WeightsCorruptError, match="NaN or infinite"):
        weights.read_weights(tmp_path / "raw.h5f")
    assert cli.main(["evaluate", "--episodes", "2", "--weights", str(tmp_path / "raw.h5f")]) == 2
    assert "NaN or infinite" in one_error_line(capsys.readouterr().err)


# --- bug 5: what the package saves, it loads ------------------------------------------------


@pytest.mark.parametrize(
    "activation",
    ["elu", "softmax", "selu", "softplus", "softsign", "swish", "gelu", "mish", "exponential", "hard_sigmoid"],
)
def test_bug5_every_keras_activation_saved_by_the_package_loads_into_the_numpy_policy(tmp_path, activation):
    model = build_model(4, 2, hidden=8, activation=activation)
    path = save_weights(model, tmp_path / f"{activation}.h5f")
    controller = load_controller(path)
    np.testing.assert_allclose(
        controller.batch_q_values(STATES), model.predict(STATES, verbose=0), rtol=1e-4, atol=1e-5
    )


# --- bug 6: a FIFO is not a file to read or write -------------------------------------------


@pytest.mark.parametrize("part", ["agent.h5f.data-00000-of-00001", "agent.json"])
def test_bug6_a_fifo_named_like_a_checkpoint_part_is_a_quick_clear_error(tmp_path, part):
    path = save_weights(build_model(4, 2), tmp_path / "agent.h5f")
    (tmp_path / part).unlink()
    os.mkfifo(tmp_path / part)
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            weights.read_weights(path)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome.append(exc)

    started = time.monotonic()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # release the hung reader before failing
        os.close(os.open(tmp_path / part, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("read_weights hangs on a FIFO")
    assert time.monotonic() - started < 3
    assert isinstance(outcome[0], WeightsError), outcome
    assert "not a regular file" in str(outcome[0]) and part in str(outcome[0])
    started = time.monotonic()
    with pytest.raises(WeightsError, match="not a regular file"):
        weights.check_save_path(path, overwrite=True)
    assert time.monotonic() - started < 3


# --- bug 7: one record per checkpoint -------------------------------------------------------


def test_bug7_a_name_without_h5f_cannot_share_the_record_of_another_checkpoint(tmp_path, capsys):
    first = save_weights(build_model(4, 2), tmp_path / "a.h5f")
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match=r"must end in \.h5f.*a\.h5f"):
        save_weights(build_model(4, 2), tmp_path / "a", overwrite=True)
    assert snapshot(tmp_path) == before
    assert cli.main(["train", "--steps", "50", "--weights", str(tmp_path / "a"), "--overwrite"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "a.h5f" in line and "shipped" not in line
    assert snapshot(tmp_path) == before
    load_weights(build_model(4, 2), first)


def test_a_forgotten_suffix_is_not_reported_as_missing_shipped_weights(capsys):
    assert cli.main(["evaluate", "--weights", str(PROJECT_ROOT / "weights" / "dqn_pretrained")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "dqn_pretrained.h5f" in line and "are not at" not in line


# --- bug 8: a killed save is named by the next load, and nothing is lost ----------------------

KILLED_SAVE = """
import os, sys
import numpy as np
import cartpole_dqn as cd
path = sys.argv[1]
cd.set_seeds(1)
cd.save_weights(cd.build_model(4, 2), path)
cd.set_seeds(2)
new = cd.build_model(4, 2)
np.save(path + ".expected.npy", new.get_weights()[0])
real = os.replace
def killed(src, dst, **kw):
    if os.fspath(dst) == path + ".index":
        os._exit(9)  # like SIGKILL or a power cut: no finally, no handler
    real(src, dst, **kw)
os.replace = killed
cd.save_weights(new, path, overwrite=True)
"""


def test_bug8_a_save_killed_between_renames_is_named_by_the_next_load_and_can_be_finished(tmp_path):
    (tmp_path / "killed.py").write_text(KILLED_SAVE)
    path = tmp_path / "agent.h5f"
    result = subprocess.run(
        [sys.executable, "killed.py", str(path)], cwd=tmp_path, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 9, result.stderr[-2000:]
    with pytest.raises(WeightsError) as info:
        weights.read_weights(path)
    message = str(info.value)
    assert "interrupted" in message and "no weights" not in message.lower()
    leftovers = [p for p in tmp_path.iterdir() if p.is_dir() and p.name in message]
    assert len(leftovers) == 1, message
    for file in leftovers[0].iterdir():  # what the message says to do
        os.replace(file, tmp_path / file.name)
    stored = weights.read_weights(path)
    np.testing.assert_array_equal(stored.layers[0][1]["kernel"], np.load(str(path) + ".expected.npy"))


# --- reading ---------------------------------------------------------------------------------


def test_an_unreadable_file_says_cannot_read_not_write(tmp_path, monkeypatch):
    import errno

    path = save_weights(build_model(4, 2), tmp_path / "agent.h5f")
    real_open, index = os.open, str(tmp_path / "agent.h5f.index")

    def denied(file, *args, **kwargs):  # like chmod 0 for a user who is not root
        if os.fspath(file) == index:
            raise PermissionError(errno.EACCES, "Permission denied", index)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(WeightsError) as info:
        weights.read_weights(path)
    message = str(info.value)
    assert "Cannot read" in message and "fix its permissions" in message and "write" not in message


def test_a_record_of_other_files_is_named_not_ignored(tmp_path):
    path = save_weights(build_model(4, 2), tmp_path / "agent.h5f")
    record = json.loads((tmp_path / "agent.json").read_text())
    record["sha256"] = {"other.h5f.index": "0" * 64}
    (tmp_path / "agent.json").write_text(json.dumps(record))
    with pytest.raises(WeightsCorruptError, match="do not match their record"):
        weights.read_weights(path)


def test_every_write_refusal_is_an_error_of_the_package(tmp_path):
    for call in (
        lambda: media.save_gif(frames(), tmp_path / "x.txt"),
        lambda: save_weights(build_model(4, 2), tmp_path / "x.ckpt"),
    ):
        with pytest.raises(CartPoleDQNError):
            call()
    assert list(tmp_path.iterdir()) == []


def test_a_save_with_glob_characters_leaves_no_temporary_files(tmp_path):
    path = save_weights(build_model(4, 2), tmp_path / "agent[1].h5f")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "agent[1].h5f.data-00000-of-00001",
        "agent[1].h5f.index",
        "agent[1].json",
    ]
    assert weights.read_weights(path).widths == [24, 24, 2]


def test_a_writer_lock_held_by_a_stopped_process_never_makes_a_reader_wait(tmp_path):
    # A SIGSTOPped writer keeps its lock; readers take none, and a writer waits a few seconds, then says why.
    path = save_weights(build_model(4, 2), tmp_path / "agent.h5f")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from cartpole_dqn import checkpoints; "
            "lock = checkpoints._locked(Path(sys.argv[1]), 'lock'); lock.__enter__(); print('held', flush=True); "
            "time.sleep(120)",
            os.path.realpath(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        os.kill(holder.pid, 19)  # SIGSTOP
        start = time.monotonic()
        weights.read_weights(path)
        assert time.monotonic() - start < 3
        with pytest.raises(WeightsError, match="Another process has been writing"):
            save_weights(build_model(4, 2), path, overwrite=True)
        assert time.monotonic() - start < 10
        weights.read_weights(path)  # the old files are untouched
    finally:
        holder.kill()
        holder.wait()


def test_a_name_too_long_for_the_filesystem_is_one_clear_error(tmp_path):
    # found by the adversarial pass of issue 18: Path.is_dir raised a raw OSError (errno 36)
    with pytest.raises(weights.WeightsWriteError, match="too long for this filesystem"):
        save_weights(build_model(4, 2), tmp_path / ("x" * 300 + ".h5f"))
