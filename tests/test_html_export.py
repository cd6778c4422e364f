"""Every committed notebook, exported to HTML with nbconvert, shows each figure and animation as an image.

HTML is what nbviewer, code hosts' previews and most book builders render. nbconvert has no
``image/gif`` support: an animation whose richest form is a GIF becomes the text
``<IPython.core.display.Image object>``. So for every notebook this counts the outputs that carry an
image (PNG, JPEG or GIF data, or HTML with an ``<img>``) and the animations among them (GIF data),
and asserts that the exported page holds exactly that many ``<img>`` elements in its output areas,
that many of them GIFs, and no leftover ``IPython.core.display`` object text.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")


def image_outputs(notebook) -> tuple[int, int]:
    """(outputs that show an image, outputs that show an animation) in the notebook's saved outputs."""
    images = animations = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            html = data.get("text/html", "")
            html = "".join(html) if isinstance(html, list) else html
            if any(kind in data for kind in IMAGE_TYPES) or "<img" in html:
                images += 1
            if "image/gif" in data or "data:image/gif" in html:
                animations += 1
    return images, animations


def exported_images(notebook) -> tuple[list[str], str]:
    """The ``src`` of every ``<img>`` in the exported page's output areas, and the page itself."""
    html, _ = HTMLExporter().from_notebook_node(notebook)
    soup = BeautifulSoup(html, "html.parser")
    return [img.get("src", "") for img in soup.select(".jp-OutputArea-output img")], html


def test_there_are_notebooks_with_figures():
    assert len(NOTEBOOKS) >= 4
    assert sum(image_outputs(nbformat.read(p, as_version=4))[1] for p in NOTEBOOKS) >= 3  # animations


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_html_export_shows_every_figure_and_animation(path):
    notebook = nbformat.read(path, as_version=4)
    images, animations = image_outputs(notebook)
    sources, html = exported_images(notebook)
    assert "IPython.core.display" not in html, f"{path.name}: an output was exported as its Python repr"
    assert len(sources) == images, f"{path.name}: {images} image outputs, {len(sources)} <img> in the HTML"
    gifs = [src for src in sources if src.startswith("data:image/gif")]
    assert len(gifs) == animations, f"{path.name}: {animations} animations, {len(gifs)} GIF <img> in the HTML"
    assert all(src.startswith("data:image/") for src in sources), "images must be embedded, not linked"
