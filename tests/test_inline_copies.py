"""The code the notebooks show inline on purpose (to teach it) agrees with the package's.

Notebook 02 writes ``build_model`` out in full and notebook 03 writes the agent's settings and
``build_agent``; the later notebooks, the command line and the benchmark use ``cd.build_model`` /
``cd.build_agent``. These tests run the notebooks' cells and compare what they build. When one
fails, its message says which copy to update.
"""

from __future__ import annotations

import inspect

import cartpole_dqn as cd

import pytest
from jupyter_kernel import code_cells, index_of


def cell_with(name: str, needle: str) -> str:
    """The source of the one code cell of notebook ``name`` that contains ``needle``."""
    sources = code_cells(name)
    return sources[index_of(sources, needle)]


def layer_summary(model) -> list[tuple]:
    """What defines the network, without the layer names: kind, units, activation, shapes."""
    rows = []
    for layer in model.layers:
        config = layer.get_config()
        rows.append(
            (type(layer).__name__, config.get("units"), config.get("activation"), tuple(layer.output_shape[1:]))
        )
    return rows


def test_notebook_02_build_model_is_the_packages():
    namespace: dict = {}
    exec(cell_with("02_the_model.ipynb", "from tensorflow.keras.layers import"), namespace)
    exec(cell_with("02_the_model.ipynb", "def build_model"), namespace)
    cd.reset_session(0)
    inline = namespace["build_model"](4, 2)
    packaged = cd.build_model(4, 2)
    assert layer_summary(inline) == layer_summary(packaged), (
        "notebook 02's build_model and cartpole_dqn.build_model build different networks: update one of them"
    )
    assert inline.input_shape == packaged.input_shape == (None, 1, 4)
    assert inline.count_params() == packaged.count_params() == 770
    # 02 says the package's model has the same layer names (04's messages name layers by them)
    assert [layer.name for layer in inline.layers] == [layer.name for layer in packaged.layers], (
        "notebook 02's build_model names its layers differently from cartpole_dqn.build_model"
    )


def notebook_03_settings(fixed_budget: bool) -> dict:
    namespace: dict = {"FIXED_BUDGET": fixed_budget}
    exec(cell_with("03_training.ipynb", "TARGET_MODEL_UPDATE ="), namespace)
    exec(cell_with("03_training.ipynb", "def build_agent"), namespace)
    return namespace


@pytest.mark.parametrize(
    ("fixed_budget", "expected"),
    [
        (
            False,
            (
                "DEFAULT_LEARNING_RATE",
                "DEFAULT_TARGET_MODEL_UPDATE",
                "DEFAULT_WARMUP",
                "DEFAULT_BATCH_SIZE",
                "DEFAULT_TRAIN_INTERVAL",
            ),
        ),
        (
            True,
            (
                "TUTORIAL_LEARNING_RATE",
                "TUTORIAL_TARGET_MODEL_UPDATE",
                "TUTORIAL_WARMUP",
                "TUTORIAL_BATCH_SIZE",
                "TUTORIAL_TRAIN_INTERVAL",
            ),
        ),
    ],
)
def test_notebook_03_settings_are_the_packages_recipe(fixed_budget, expected):
    settings = notebook_03_settings(fixed_budget)
    shown_names = ("LEARNING_RATE", "TARGET_MODEL_UPDATE", "WARMUP", "BATCH_SIZE", "TRAIN_INTERVAL")
    for shown, constant in zip(shown_names, expected, strict=True):
        assert settings[shown] == getattr(cd.agent, constant), (
            f"notebook 03 (FIXED_BUDGET = {fixed_budget}) shows {shown} = {settings[shown]!r}, but "
            f"cartpole_dqn.agent.{constant} is {getattr(cd.agent, constant)!r}: update the settings cell of 03_training.ipynb"
        )
    if not fixed_budget:
        default_rate = inspect.signature(cd.compile_agent).parameters["learning_rate"].default
        assert settings["LEARNING_RATE"] == default_rate, "cd.compile_agent's default learning rate differs from 03's"


def agent_settings(dqn) -> dict:
    """Everything that makes two keras-rl2 DQN agents learn the same way."""
    return {
        "gamma": dqn.gamma,
        "batch_size": dqn.batch_size,
        "nb_steps_warmup": dqn.nb_steps_warmup,
        "train_interval": dqn.train_interval,
        "memory_interval": dqn.memory_interval,
        "target_model_update": dqn.target_model_update,
        "delta_clip": dqn.delta_clip,
        "double_dqn": dqn.enable_double_dqn,
        "dueling": dqn.enable_dueling_network,
        "memory": (type(dqn.memory).__name__, dqn.memory.limit, dqn.memory.window_length),
        "policy": (type(dqn.policy).__name__, getattr(dqn.policy, "tau", None), getattr(dqn.policy, "clip", None)),
        "test_policy": type(dqn.test_policy).__name__,
    }


def test_notebook_03_build_agent_is_the_packages():
    settings = notebook_03_settings(False)
    cd.reset_session(0)
    inline = settings["build_agent"](cd.build_model(4, 2), 2)
    packaged = cd.build_agent(cd.build_model(4, 2), 2)
    shown, package = agent_settings(inline), agent_settings(packaged)
    differ = {key: (shown[key], package[key]) for key in shown if shown[key] != package[key]}
    assert not differ, f"notebook 03's build_agent differs from cd.build_agent (03, package): {differ}"
