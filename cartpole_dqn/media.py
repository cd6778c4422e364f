"""Frames and animations: PNG and GIF encoding, side-by-side episodes, inline display (notebooks 01, 03).

Everything here works without a screen: frames come from Gymnasium's ``render_mode="rgb_array"``
(see :func:`cartpole_dqn.envs.record_episode`), animations are small GIFs written with Pillow (no
ffmpeg, no virtual display, no pop-up window).

An animation is shown as HTML (an ``<img>`` carrying the GIF) with a PNG still of its last frame
in the same display bundle: JupyterLab, Colab and nbconvert's HTML export (nbviewer, book
builders) show the HTML, and a renderer that shows no HTML falls back to the still. A bare
``image/gif`` output would be lost by nbconvert, which has no GIF support.

Alt text. Every picture the package shows carries a short description in its ``alt`` attribute, for
screen readers and for pages whose images do not load. nbconvert's default ("lab") HTML template
writes no ``alt`` for an ``image/png`` output (its "classic" template reads ``output.metadata``), but
it copies a ``text/html`` output as it is, and ranks HTML above PNG. So animations and stills are
HTML ``<img alt="...">``, and a matplotlib figure that :func:`describe` gave an alt text is shown,
through an IPython display formatter registered for figures, as the same PNG inside such an
``<img>`` (the plain PNG stays in the output too, for renderers without HTML).
"""

from __future__ import annotations

import base64
import html
import io
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import checkpoints
from .errors import number, whole_number

__all__ = [
    "Animation",
    "Frames",
    "Still",
    "describe",
    "frames_alt",
    "in_notebook",
    "png_bytes",
    "gif_bytes",
    "save_gif",
    "save_png",
    "show_animation",
    "side_by_side",
]

#: How long the last frame of an animation stays on screen, so the ending can be seen.
FINAL_FRAME_MS = 1000


def in_notebook() -> bool:
    """True inside a Jupyter/IPython kernel (where images can be shown inline), else False.

    Plain ``python``, ``pytest`` and the terminal IPython shell give False. Notebook 01.
    """
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


#: The name of the attribute that holds a figure's alt text (set by :func:`describe`).
ALT_ATTRIBUTE = "cartpole_dqn_alt"


def _img(data: bytes, kind: str, alt: str) -> str:
    """An HTML ``<img>`` with the image embedded and its alt text."""
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img src="data:image/{kind};base64,{encoded}" alt="{html.escape(alt)}"/>'


def _figure_html(figure) -> str | None:
    """The figure as a PNG inside an ``<img>`` with its alt text, or None (the plain PNG) if it has none."""
    alt = getattr(figure, ALT_ATTRIBUTE, None)
    if not alt:
        return None
    from IPython.core.pylabtools import print_figure

    return _img(print_figure(figure, "png", bbox_inches="tight"), "png", alt)


def describe(figure_or_axes, alt: str):
    """Give a matplotlib figure a short alt text (what it shows), and return what was passed in.

    In a notebook the figure is then shown with that text as the ``alt`` of its image, which the
    HTML export keeps (see the module docstring). The package's plots call this themselves;
    for a figure of your own: ``cd.media.describe(fig, "Line chart of ...")``.
    """
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("describe needs a short text saying what the figure shows, e.g. 'Histogram of 100 scores'.")
    figure = getattr(figure_or_axes, "figure", figure_or_axes)
    setattr(figure, ALT_ATTRIBUTE, alt.strip())
    if in_notebook():
        from IPython import get_ipython
        from matplotlib.figure import Figure

        get_ipython().display_formatter.formatters["text/html"].for_type(Figure, _figure_html)
    return figure_or_axes


def _as_rgb_image(frame: np.ndarray, scale: float = 1.0) -> Image.Image:
    """One ``(height, width, 3)`` frame as a Pillow image, resized by ``scale``."""
    array = np.asarray(frame)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(
            f"A frame must be an RGB image array of shape (height, width, 3), got shape {array.shape}. "
            "Make the environment with render_mode='rgb_array' and pass what env.render() returns."
        )
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    image = Image.fromarray(array[:, :, :3], mode="RGB")
    if scale != 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    return image


def png_bytes(frame: np.ndarray, scale: float = 0.5) -> bytes:
    """An RGB frame as PNG bytes, downscaled by ``scale`` to keep notebooks small (notebook 01)."""
    buffer = io.BytesIO()
    _as_rgb_image(frame, number(scale, "scale", above=0)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _kept_frames(frames: Sequence[np.ndarray], every: int) -> list[np.ndarray]:
    """Every ``every``-th frame, always ending with the last one (the moment the episode ended)."""
    if len(frames) == 0:
        raise ValueError(
            "There are no frames to animate. Record an episode first, e.g. frames, score = record_episode()."
        )
    kept = list(frames[::every])
    if (len(frames) - 1) % every:
        kept.append(frames[-1])
    return kept


def _pure_white(rgb: Image.Image, paletted: Image.Image) -> Image.Image:
    """Paint white pixels pure white again: median cut and Pillow's colour lookup turn them light grey."""
    colours = np.array(paletted.getpalette(), dtype=int).reshape(-1, 3)
    white = int(np.argmin(((colours - 255) ** 2).sum(axis=1)))
    colours[white] = 255
    indices = np.array(paletted)
    indices[(np.asarray(rgb) == 255).all(axis=2)] = white
    result = Image.fromarray(indices, mode="P")
    result.putpalette(colours.astype(np.uint8).ravel().tolist())
    return result


def gif_bytes(frames: Sequence[np.ndarray], fps: int = 25, every: int = 2, scale: float = 0.5) -> bytes:
    """The frames as an animated GIF (bytes), the common part of :func:`save_gif` and :func:`show_animation`.

    Keeps every ``every``-th frame (plus the last), shrinks them by ``scale``, plays them at
    ``fps`` frames per second, loops forever, and holds the last frame for a second. Pillow
    stores a frame identical to the one before it only once, with both display times added,
    so the file may hold fewer frames than were kept; it plays for the same time.
    """
    fps, every, scale = number(fps, "fps", above=0), whole_number(every, "every"), number(scale, "scale", above=0)
    images = [_as_rgb_image(frame, scale) for frame in _kept_frames(frames, every)]
    if len({image.size for image in images}) > 1:
        raise ValueError("All frames of an animation must have the same size; these have several sizes.")
    # one shared 64-colour palette (CartPole has few colours; sharing it keeps GIFs small),
    # taken from the first, middle and last frames so that colours which appear late are in it
    samples = [images[0], images[len(images) // 2], images[-1]]
    strip = Image.new("RGB", (images[0].width, sum(image.height for image in samples)))
    for i, image in enumerate(samples):
        strip.paste(image, (0, i * images[0].height))
    palette = strip.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    paletted = [_pure_white(image, image.quantize(palette=palette, dither=Image.Dither.NONE)) for image in images]
    frame_ms = max(20, round(1000 / fps))
    durations = [frame_ms] * len(paletted)
    durations[-1] = max(frame_ms, FINAL_FRAME_MS)
    buffer = io.BytesIO()
    paletted[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=paletted[1:],
        duration=durations,
        loop=0,
        optimize=False,
        disposal=1,
    )
    return buffer.getvalue()


def save_gif(
    frames: Sequence[np.ndarray],
    path: str | Path,
    fps: int = 25,
    every: int = 2,
    scale: float = 0.5,
    overwrite: bool = False,
) -> Path:
    """Write the frames to an animated GIF file (its name must end in ``.gif``) and return its path (notebook 01).

    An existing file is replaced only with ``overwrite=True``, and the shipped agent's files never.
    A 200-step CartPole episode with the defaults is about 100 frames of 300x200 pixels,
    well under a few hundred KB.
    """
    path = checkpoints.named(path, ".gif", "episode.gif")
    checkpoints.put([(path, gif_bytes(frames, fps=fps, every=every, scale=scale))], overwrite)
    return path


def save_png(frame: np.ndarray, path: str | Path, scale: float = 1.0, overwrite: bool = False) -> Path:
    """Write one RGB frame to a PNG file (its name must end in ``.png``) and return its path."""
    path = checkpoints.named(path, ".png", "frame.png")
    checkpoints.put([(path, png_bytes(frame, scale=scale))], overwrite)
    return path


class Still:
    """One frame that notebooks show as an image with an alt text (HTML ``<img>``, plus the plain PNG)."""

    def __init__(self, png: bytes, alt: str) -> None:
        self.png, self.alt = png, alt

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {
            "text/html": _img(self.png, "png", self.alt),
            "image/png": base64.b64encode(self.png).decode("ascii"),
            "text/plain": repr(self),
        }
        return data, {"image/png": {"alt": self.alt}}

    def __repr__(self) -> str:
        return f"<image: {self.alt}>"


def frames_alt(frames: Sequence[np.ndarray]) -> str:
    """What an animation of these frames shows, in one line (the default alt text of :func:`show_animation`).

    Frames from :func:`side_by_side` say which two episodes they hold; others are taken as one
    episode recorded like :func:`cartpole_dqn.envs.record_episode` does, one frame per step plus the first.
    """
    described = getattr(frames, "description", None)
    if described:
        return described
    steps = len(frames) - 1
    return f"Animation of one episode, {steps} step{'s' if steps != 1 else ''} long ({len(frames)} frames), looping."


class Animation:
    """An animated GIF that notebooks and static renderers alike show (see the module docstring).

    Its display bundle holds ``text/html`` (the GIF in an ``<img>`` with the alt text ``alt``, and
    the caption if any) and ``image/png`` (the last frame, a still for renderers without HTML).
    ``gif`` is the GIF's bytes.
    """

    def __init__(self, gif: bytes, still: bytes, caption: str | None = None, alt: str | None = None) -> None:
        self.gif, self.still, self.caption = gif, still, caption
        self.alt = alt or caption or "Animation of an episode."

    def _repr_html_(self) -> str:
        image = _img(self.gif, "gif", self.alt)
        if self.caption is None:
            return image
        return f'<figure style="margin:0">{image}<figcaption>{html.escape(self.caption)}</figcaption></figure>'

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {
            "text/html": self._repr_html_(),
            "image/png": base64.b64encode(self.still).decode("ascii"),
            "text/plain": repr(self),
        }
        return data, {"image/png": {"alt": f"Last frame of: {self.alt}"}}

    def __repr__(self) -> str:
        caption = f", {self.caption!r}" if self.caption else ""
        return f"<animation: GIF of {len(self.gif):,} bytes{caption}>"


def show_animation(
    frames: Sequence[np.ndarray],
    fps: int = 25,
    every: int = 2,
    scale: float = 0.5,
    caption: str | None = None,
    alt: str | None = None,
) -> Animation:
    """An object that a notebook shows as an inline, looping GIF of the frames (notebook 01).

    Make it the last line of a cell (or pass it to ``IPython.display.display``). Exported to
    HTML (nbconvert, nbviewer) it still plays; where HTML is not shown, the last frame is.
    ``alt``, the text read out instead of the picture, defaults to :func:`frames_alt`.
    """
    data = gif_bytes(frames, fps=fps, every=every, scale=scale)
    return Animation(data, png_bytes(frames[-1], scale=scale), caption, alt or frames_alt(frames))


class Frames(list):
    """A list of frames with a ``description`` of what they show (made by :func:`side_by_side`)."""

    def __init__(self, frames: Sequence[np.ndarray], description: str) -> None:
        super().__init__(frames)
        self.description = description


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # pragma: no cover - Pillow < 10.1 has one fixed-size default font
        return ImageFont.load_default()


def _greyed(image: Image.Image) -> Image.Image:
    """A faded, grey copy: the look of an episode that is already over."""
    grey = image.convert("L").convert("RGB")
    return Image.blend(grey, Image.new("RGB", image.size, (255, 255, 255)), 0.5)


def side_by_side(
    left_frames: Sequence[np.ndarray],
    right_frames: Sequence[np.ndarray],
    labels: tuple[str, str] = ("random agent", "trained agent"),
) -> Frames:
    """Two episodes in one animation, side by side, each half labelled with its step count (notebook 03).

    The result has as many frames as the longer episode. The shorter one holds its last
    frame, greyed out and marked "episode over". Pass the result to :func:`show_animation`
    or :func:`save_gif`. It is a list of frames whose ``description`` (the animation's alt text)
    says which episode is on which side and how many steps each lasts.
    """
    if len(left_frames) == 0 or len(right_frames) == 0:
        raise ValueError("side_by_side needs two non-empty lists of frames, e.g. from record_episode().")
    left_first = _as_rgb_image(left_frames[0])
    height = left_first.height

    def fit(frame: np.ndarray) -> Image.Image:
        image = _as_rgb_image(frame)
        if image.height != height:
            image = image.resize((max(1, round(image.width * height / image.height)), height))
        return image

    gap = max(2, height // 100)
    font = _font(max(12, height // 16))
    margin = max(2, height // 40)
    line_height = round((font.getbbox("Ag")[3] or 11) * 1.3)
    halves = [(left_frames, labels[0]), (right_frames, labels[1])]
    widths = [left_first.width, fit(right_frames[0]).width]
    finals = [_greyed(fit(frames[-1])) for frames, _ in halves]
    total = max(len(left_frames), len(right_frames))
    composed = []
    for t in range(total):
        canvas = Image.new("RGB", (widths[0] + gap + widths[1], height), (128, 128, 128))
        draw = ImageDraw.Draw(canvas)
        x = 0
        for (frames, label), width, final in zip(halves, widths, finals, strict=True):
            over = t >= len(frames) - 1
            steps = min(t, len(frames) - 1)
            canvas.paste(final if t >= len(frames) else fit(frames[t]), (x, 0))
            draw.text((x + margin, margin), label, fill=(0, 0, 0), font=font)
            status = f"episode over after {steps} steps" if over else f"step {steps}"
            colour = (200, 0, 0) if over else (60, 60, 60)
            draw.text((x + margin, margin + line_height), status, fill=colour, font=font)
            x += width + gap
        composed.append(np.asarray(canvas))
    lasted = [
        f"{label} ({side}) lasts {len(frames) - 1} steps"
        for (frames, label), side in zip(halves, ("left", "right"), strict=True)
    ]
    return Frames(composed, f"Animation of two episodes side by side: {lasted[0]}, {lasted[1]}.")
