"""Shared test setup.

``cartpole_dqn`` must be imported before TensorFlow (it makes ``tensorflow.keras`` mean Keras 2,
which keras-rl2 needs); pytest configures before it collects any test module, so it happens here.
"""

import os

import pytest


def pytest_configure(config):
    if getattr(config.option, "numprocesses", None) and "PYTEST_XDIST_WORKER" not in os.environ:
        return  # the pytest-xdist controller runs no test: loading TensorFlow there would cost seconds
    import cartpole_dqn  # noqa: F401


@pytest.fixture
def moved_weights_dir(tmp_path, monkeypatch):
    """The shipped and default weights locations moved into tmp_path: tests never touch the repo's weights/."""
    from cartpole_dqn import settings, weights

    folder = tmp_path / "weights"
    monkeypatch.setattr(settings, "WEIGHTS_DIR", folder)  # what the one write path protects
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


@pytest.fixture(scope="session")
def notebook_kernel(tmp_path_factory):
    """One real Jupyter kernel per test worker, shared by the notebook tests (test_rerun, test_notebook_options).

    Starting a kernel costs seconds (it loads TensorFlow), so the tests that run notebooks in a
    kernel share one, as a learner's day goes from notebook to notebook. Its weights folder is a
    copy of the shipped agent in a temporary folder: nothing a notebook does reaches ``weights/``.
    """
    import shutil

    from cartpole_dqn.weights import SHIPPED_METADATA, SHIPPED_WEIGHTS, weight_files

    from jupyter_kernel import Kernel

    folder = tmp_path_factory.mktemp("kernel")
    weights_dir = folder / "weights"
    weights_dir.mkdir()
    for file in [*weight_files(SHIPPED_WEIGHTS), SHIPPED_METADATA]:
        shutil.copy(file, weights_dir / file.name)
    kernel = Kernel(folder, CARTPOLE_DQN_WEIGHTS_DIR=str(weights_dir))
    kernel.weights_dir = weights_dir
    yield kernel
    kernel.close()
