"""Importing the package after TensorFlow already chose Keras 3 must say "restart the kernel".

Each case needs a fresh Python (TensorFlow picks its Keras once per process), so each runs
in a subprocess (about 5 s each); only the wording of Colab's advice is checked in this process.
"""

from __future__ import annotations

import os
import subprocess
import sys

from cartpole_dqn import compat

import pytest

REPORT = """
try:
    import cartpole_dqn
except Exception as exc:
    print(type(exc).__name__ + ": " + str(exc))
    raise SystemExit(3)
import tensorflow as tf
print("keras module:", tf.keras.layers.Dense.__module__)
"""


def run(code: str, **extra: str) -> subprocess.CompletedProcess:
    # no TF_USE_LEGACY_KERAS from outside: TensorFlow then defaults to Keras 3
    env = {key: value for key, value in os.environ.items() if key != "TF_USE_LEGACY_KERAS"} | extra
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_keras_3_already_in_use_gives_keras_version_error():
    result = run("import keras\nimport tensorflow as tf\ntf.keras.layers.Dense\n" + REPORT)
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.startswith("KerasVersionError: TensorFlow is already loaded with Keras 3")
    assert "Start a new Python process" in result.stdout  # a plain script: no kernel to restart


def test_plain_tensorflow_import_first_in_a_jupyter_kernel_names_jupyters_menu():
    fake_kernel = "import sys, types\nsys.modules['ipykernel'] = types.ModuleType('ipykernel')\n"
    result = run(fake_kernel + "import tensorflow as tf\n" + REPORT)
    assert result.returncode == 3, result.stdout + result.stderr[-500:]
    assert result.stdout.startswith("KerasVersionError:")
    assert "Restart the kernel (Kernel > Restart Kernel)" in result.stdout


def test_in_colab_the_advice_names_colabs_menu(monkeypatch):
    # the same error as above (a fresh process proves the import raises it); only the advice differs,
    # so this one runs in this process with Keras 3 "in use"
    monkeypatch.setattr(compat, "keras_3_in_use", lambda: True)
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-test")
    with pytest.raises(compat.KerasVersionError, match=r"Restart the session \(Runtime > Restart session\) and run"):
        compat._require_keras_2()


def test_tensorflow_first_with_legacy_keras_requested_is_fine():
    result = run("import os\nos.environ['TF_USE_LEGACY_KERAS'] = '1'\nimport tensorflow as tf\n" + REPORT)
    assert result.returncode == 0, result.stdout + result.stderr[-500:]
    assert "keras module: tf_keras." in result.stdout


def test_package_first_then_keras_3_code_still_gets_keras_2():
    result = run("import cartpole_dqn\nimport keras\n" + REPORT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "keras module: tf_keras." in result.stdout
