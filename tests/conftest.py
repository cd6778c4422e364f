"""Shared test setup.

``cartpole_dqn`` must be imported before TensorFlow (it makes ``tensorflow.keras`` mean Keras 2,
which keras-rl2 needs); pytest loads this file before any test module, so it happens here.
"""

import cartpole_dqn  # noqa: F401

import pytest  # noqa: E402


@pytest.fixture
def moved_weights_dir(tmp_path, monkeypatch):
    """The shipped and default weights locations moved into tmp_path: tests never touch the repo's weights/."""
    from cartpole_dqn import weights

    folder = tmp_path / "weights"
    monkeypatch.setattr(weights, "SHIPPED_WEIGHTS", folder / "dqn_pretrained.h5f")
    monkeypatch.setattr(weights, "SHIPPED_METADATA", folder / "dqn_pretrained.json")
    monkeypatch.setattr(weights, "DEFAULT_WEIGHTS", folder / "dqn_weights.h5f")
    return folder


@pytest.fixture(scope="session", autouse=True)
def shipped_weights_unchanged():
    """After the whole suite: the shipped agent's files are byte for byte what they were (issue 11)."""
    import hashlib

    from cartpole_dqn.settings import PROJECT_ROOT

    def digests() -> dict[str, str]:
        files = sorted((PROJECT_ROOT / "weights").glob("dqn_pretrained.*"))
        return {file.name: hashlib.sha256(file.read_bytes()).hexdigest() for file in files}

    before = digests()
    yield
    assert digests() == before, "a test changed the shipped agent in weights/: restore it with `git checkout weights/`"
