"""cartpole_dqn: the helper package of the CartPole DQN notebook series.

Import it before TensorFlow: it applies the adaptations keras-rl2 needs (see
``cartpole_dqn.compat``) and then exposes the helpers the notebooks use.
"""

from . import compat

compat.apply()

from .agent import Adam, DQNAgent, build_agent, compile_agent, make_optimizer, reset_session, set_seeds  # noqa: E402
from .envs import DEFAULT_ENV_ID, GymAdapter, env_sizes, make_env, make_gymnasium_env  # noqa: E402
from .model import build_model  # noqa: E402

__version__ = "1.0.0"
