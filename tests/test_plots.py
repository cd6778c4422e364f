"""Unit tests of cartpole_dqn.media and .plots: frames, GIFs, side-by-side episodes, recordings and the two plots."""

import io
import re

from cartpole_dqn import media, plots  # importing the package applies its keras-rl2 adaptations

import matplotlib
import numpy as np
import pytest
from PIL import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def balance(observation):
    """A hand-written policy that keeps the pole up for a long time: push the way the pole is falling."""
    return int(observation[2] + observation[3] > 0)


def synthetic_frames(n, height=40, width=60):
    """``n`` small white frames with a black dot that moves one pixel a frame, so that all differ.

    (A GIF writer merges a frame that is identical to the one before into one longer frame.)
    """
    frames = []
    for i in range(n):
        frame = np.full((height, width, 3), 255, dtype=np.uint8)
        frame[10:14, 2 + i : 6 + i] = 0
        frames.append(frame)
    return frames


def gif_durations(path):
    """The display time of each frame of a GIF file, in milliseconds."""
    with Image.open(path) as gif:
        durations = []
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info["duration"])
    return durations


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_not_in_notebook_under_pytest():
    assert media.in_notebook() is False


def test_png_bytes_is_a_downscaled_png():
    frame = np.zeros((400, 600, 3), dtype=np.uint8)
    frame[:, :300] = (255, 0, 0)
    data = media.png_bytes(frame, scale=0.5)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    assert image.size == (300, 200)
    assert image.convert("RGB").getpixel((10, 10)) == (255, 0, 0)


def test_png_bytes_rejects_a_frame_that_is_not_rgb():
    with pytest.raises(ValueError, match="height, width, 3"):
        media.png_bytes(np.zeros((400, 600), dtype=np.uint8))


def test_record_episode_random_play_has_one_frame_per_step_plus_the_first():
    frames, score = plots.record_episode(seed=0)
    assert 1 <= score < 200
    assert len(frames) == score + 1
    assert all(frame.shape == (400, 600, 3) and frame.dtype == np.uint8 for frame in frames)


def test_record_episode_is_reproducible_with_the_same_seed():
    frames_a, score_a = plots.record_episode(seed=3)
    frames_b, score_b = plots.record_episode(seed=3)
    assert score_a == score_b
    assert np.array_equal(frames_a[-1], frames_b[-1])
    scores = {plots.record_episode(seed=s)[1] for s in range(4)}
    assert len(scores) > 1, "different seeds should give different random episodes"


def test_record_episode_uses_the_policy_and_stops_at_max_steps():
    seen = []

    def always_left(observation):
        seen.append(observation.shape)
        return 0

    frames, score = plots.record_episode(policy=always_left, seed=0)
    assert score < 20  # pushing one way topples the pole quickly
    assert seen and set(seen) == {(4,)}
    frames, score = plots.record_episode(policy=balance, seed=0, max_steps=5)
    assert (len(frames), score) == (6, 5.0)


def test_save_gif_writes_a_small_rereadable_animation(tmp_path):
    frames, score = plots.record_episode(policy=balance, seed=1)
    assert score >= 150
    path = media.save_gif(frames, tmp_path / "sub" / "episode.gif", every=2, scale=0.5)
    assert path.exists()
    assert path.stat().st_size < 300_000
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.size == (300, 200)
        assert gif.convert("RGB").getpixel((5, 5)) == (255, 255, 255)  # the background stays pure white
    # every 2nd frame (plus the last) at 25 fps, and the last one held for a second; frames that
    # look the same after shrinking are stored once with their times added, so count the time
    kept = len(frames[::2]) + (len(frames) - 1) % 2
    durations = gif_durations(path)
    assert 1 < len(durations) <= kept
    assert sum(durations) == (kept - 1) * 40 + media.FINAL_FRAME_MS


@pytest.mark.parametrize(("n", "every", "expected"), [(5, 2, 3), (6, 2, 4), (7, 3, 3), (4, 1, 4), (1, 2, 1)])
def test_save_gif_keeps_every_nth_frame_and_the_last(tmp_path, n, every, expected):
    path = media.save_gif(synthetic_frames(n), tmp_path / "x.gif", every=every, scale=1.0)
    with Image.open(path) as gif:
        assert gif.n_frames == expected
        assert gif.size == (60, 40)
        gif.seek(gif.n_frames - 1)
        last = np.asarray(gif.convert("RGB"))
    assert np.array_equal(last, synthetic_frames(n)[-1])
    assert gif_durations(path) == [40] * (expected - 1) + [media.FINAL_FRAME_MS]


def test_save_gif_without_frames_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no frames"):
        media.save_gif([], tmp_path / "empty.gif")
    assert not (tmp_path / "empty.gif").exists()


def _display_bundle(obj) -> dict:
    """What a Jupyter kernel sends for ``obj`` as a cell's result (and what nbconvert later renders)."""
    from IPython.core.interactiveshell import InteractiveShell

    data, _metadata = InteractiveShell.instance().display_formatter.format(obj)
    return data


def test_show_animation_bundle_has_the_gif_as_html_and_a_png_still():
    # nbconvert has no image/gif support: a bare GIF output is exported as "<IPython.core.display.Image
    # object>". HTML carrying the GIF is shown by JupyterLab, Colab and nbconvert; the PNG is the fallback.
    import base64

    frames = synthetic_frames(4)
    for caption in (None, "random <play>"):
        bundle = _display_bundle(media.show_animation(frames, caption=caption))
        assert {"text/html", "image/png"} <= set(bundle)
        encoded = bundle["text/html"].split('src="data:image/gif;base64,')[1].split('"')[0]
        assert base64.b64decode(encoded)[:6] == b"GIF89a"
        still = Image.open(io.BytesIO(base64.b64decode(bundle["image/png"])))
        assert still.format == "PNG" and still.size == (frames[-1].shape[1] // 2, frames[-1].shape[0] // 2)
        last = Image.open(io.BytesIO(media.png_bytes(frames[-1])))
        assert np.array_equal(np.asarray(still), np.asarray(last))  # the still is the last frame
    assert "random &lt;play&gt;" in bundle["text/html"] and "<figcaption>" in bundle["text/html"]


def alt_of(html: str) -> str:
    """The alt text of the one ``<img>`` in ``html`` (unescaped)."""
    import html as html_module

    (alt,) = re.findall(r'<img [^>]*alt="([^"]*)"', html)
    return html_module.unescape(alt)


def test_an_animation_says_what_it_shows_in_its_alt_text():
    frames = synthetic_frames(5)
    assert alt_of(_display_bundle(media.show_animation(frames))["text/html"]) == (
        "Animation of one episode, 4 steps long (5 frames), looping."
    )
    assert alt_of(_display_bundle(media.show_animation(frames, alt='a "dot" moves'))["text/html"]) == 'a "dot" moves'
    both = media.side_by_side(synthetic_frames(3), synthetic_frames(6), labels=("random agent", "trained agent"))
    assert both.description == (
        "Animation of two episodes side by side: random agent (left) lasts 2 steps, trained agent (right) lasts 5 steps."
    )
    assert alt_of(_display_bundle(media.show_animation(both, every=2))["text/html"]) == both.description
    data, metadata = media.show_animation(frames)._repr_mimebundle_()
    assert metadata["image/png"]["alt"].startswith("Last frame of: Animation of one episode")


def test_a_still_is_an_image_with_its_alt_text():
    still = media.Still(media.png_bytes(synthetic_frames(1)[0]), "the cart at step 3")
    bundle = _display_bundle(still)
    assert alt_of(bundle["text/html"]) == "the cart at step 3"
    assert bundle["text/html"].startswith('<img src="data:image/png;base64,')


def test_describe_gives_a_figure_its_alt_text_and_refuses_an_empty_one():
    fig, ax = plt.subplots()
    assert media.describe(ax, "  a line  ") is ax
    assert getattr(fig, media.ALT_ATTRIBUTE) == "a line"
    html = media._figure_html(fig)
    assert alt_of(html) == "a line" and html.startswith('<img src="data:image/png;base64,')
    assert media._figure_html(plt.subplots()[0]) is None  # no alt text: the figure shows as usual
    with pytest.raises(ValueError, match="what the figure shows"):
        media.describe(fig, " ")


def test_plots_still_offers_the_media_and_recording_names():
    from cartpole_dqn import envs

    assert plots.save_gif is media.save_gif and plots.show_animation is media.show_animation
    assert plots.side_by_side is media.side_by_side and plots.record_episode is envs.record_episode


def test_side_by_side_holds_the_shorter_episode_greyed():
    left = [np.full((120, 180, 3), (200, 50, 50), dtype=np.uint8) for _ in range(3)]
    right = [np.full((120, 240, 3), (50, 50, 200), dtype=np.uint8) for _ in range(7)]
    composed = media.side_by_side(left, right, labels=("a", "b"))
    assert len(composed) == 7
    height, width, channels = composed[0].shape
    assert (height, channels) == (120, 3) and 420 < width < 430  # two halves and a thin divider
    assert composed[0].dtype == np.uint8
    # while both play, the left half keeps its colour; after its end it is grey (R == G == B)
    assert tuple(composed[1][-1, 0]) == (200, 50, 50)
    held = composed[-1][60:, :180].astype(int)  # the lower half, below the label and status text
    assert np.all(held[..., 0] == held[..., 1]) and np.all(held[..., 1] == held[..., 2])
    assert tuple(composed[-1][-1, -1]) == (50, 50, 200)
    # a label and a status line are drawn in the top-left corner of each half
    assert not np.array_equal(composed[0][:40, :60], left[0][:40, :60])
    assert not np.array_equal(composed[0][:40, -240:-180], right[0][:40, :60])


def test_side_by_side_fits_the_right_episode_to_the_left_height():
    composed = media.side_by_side(synthetic_frames(2, 40, 60), synthetic_frames(2, 80, 120))
    assert composed[0].shape[0] == 40 and composed[0].shape[1] > 120


def test_side_by_side_needs_two_episodes():
    with pytest.raises(ValueError, match="non-empty"):
        media.side_by_side([], synthetic_frames(2))


def test_plot_score_histogram_draws_bars_mean_and_threshold():
    scores = [12, 15, 15, 20, 33, 41]
    ax = plots.plot_score_histogram(scores, threshold=195, title="random play")
    assert isinstance(ax, matplotlib.axes.Axes)
    assert sum(patch.get_height() for patch in ax.patches) == len(scores)
    mean_line, threshold_line = ax.get_lines()
    assert mean_line.get_xdata()[0] == pytest.approx(np.mean(scores))
    assert threshold_line.get_xdata()[0] == 195
    assert threshold_line.get_linestyle() == "--"
    assert ax.get_title() == "random play"
    assert getattr(ax.figure, media.ALT_ATTRIBUTE) == (
        "Histogram of 6 episode scores (random play): mean 22.7, lowest 12, highest 41, "
        "drawn as a solid line at the mean and a dashed line at 195, the score that counts as solved."
    )


def test_plot_score_histogram_into_given_axes_without_threshold():
    _fig, ax = plt.subplots()
    assert plots.plot_score_histogram([1, 2, 3], ax=ax) is ax
    assert len(ax.get_lines()) == 1


def test_plot_rewards_draws_rewards_moving_average_and_solved_line():
    rewards = [0.0, 10.0, 20.0, 30.0]
    ax = plots.plot_rewards(rewards, window=2, threshold=195.0)
    raw, moving, solved = ax.get_lines()
    assert list(raw.get_ydata()) == rewards
    assert list(moving.get_ydata()) == [0.0, 5.0, 15.0, 25.0]
    assert list(solved.get_ydata()) == [195.0, 195.0]
    assert solved.get_linestyle() == "--"
    assert getattr(raw.figure, media.ALT_ATTRIBUTE) == (
        "Line chart of the reward of each of 4 episodes (thin, with dots), from 0 in the first to 30 in the last, "
        "best 30; its 2-episode moving average (thick) ends at 25.0; a dashed line at 195 marks solved."
    )
    without = plots.plot_rewards(rewards, threshold=None)
    assert len(without.get_lines()) == 2 and "dashed" not in getattr(without.figure, media.ALT_ATTRIBUTE)


def line_look(line) -> tuple:
    """How a line can be told apart without colour: its style, width and marker."""
    return (line.get_linestyle(), line.get_linewidth(), line.get_marker())


@pytest.mark.parametrize(
    "draw",
    [
        lambda: plots.plot_score_histogram([1, 5, 9], threshold=195),
        lambda: plots.plot_rewards([1.0, 5.0, 9.0], window=2, threshold=195),
    ],
    ids=["histogram", "rewards"],
)
def test_plots_use_the_colour_blind_safe_palette_and_never_colour_alone(draw):
    from matplotlib.colors import to_hex

    ax = draw()
    palette = {to_hex(colour) for colour in plots.COLOURS.values()}
    colours = [to_hex(line.get_color()) for line in ax.get_lines()] + [to_hex(p.get_facecolor()) for p in ax.patches]
    assert set(colours) <= palette, f"colours outside the Okabe-Ito palette: {set(colours) - palette}"
    looks = [line_look(line) for line in ax.get_lines()]
    assert len(set(looks)) == len(looks), f"two lines differ only by colour: {looks}"


def test_plots_without_data_are_clear_errors():
    with pytest.raises(ValueError, match="no episode rewards"):
        plots.plot_rewards([])
    with pytest.raises(ValueError, match="no scores"):
        plots.plot_score_histogram([])


def test_no_import_cycle_between_environments_media_and_plots():
    # envs plays episodes and shows live frames through media; plots builds on both, never the reverse
    import ast
    from pathlib import Path

    import cartpole_dqn

    package = Path(cartpole_dqn.__file__).parent

    def imported(module: str) -> set[str]:
        tree = ast.parse((package / f"{module}.py").read_text(encoding="utf-8"))
        return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1}

    assert "plots" not in imported("envs") | imported("media")
    assert "envs" not in imported("media")
    assert {"envs", "media"} <= imported("plots")
