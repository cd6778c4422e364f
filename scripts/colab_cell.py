"""Write (or check) the Colab badge and setup cell at the top of every notebook, from one source.

Usage::

    python scripts/colab_cell.py            # insert or update the two cells in notebooks/*.ipynb, and the README's badges
    python scripts/colab_cell.py --check    # exit 1 and name the notebooks whose first cells differ
    python scripts/colab_cell.py --repo OWNER/NAME   # once the repository has its public address

The repository's address lives in ``REPO`` below and nowhere else: the badges (here and in the
README) and the setup cell are built from it. The setup cell does nothing outside Google Colab; in
Colab it clones the repository and runs ``scripts/colab_setup.py`` from it, which installs only what
Colab lacks. ``CARTPOLE_DQN_REPO`` points it at another copy (a local path or ``file://`` URL):
that is how ``make colab-profile`` tests it without the network.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

#: owner/name of the public repository. A placeholder until the repository is published:
#: change it here (or with --repo) and re-run this script; tests/test_colab_cell.py checks the rest.
REPO = "YOUR-GITHUB-USER/cartpole-dqn"
BRANCH = "main"
TAG = "colab"  # both cells carry this cell tag, so the script can find and replace them

BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
README = ROOT / "README.md"
BADGES_START = "<!-- badges: written by scripts/colab_cell.py from REPO -->"
BADGES_END = "<!-- /badges -->"

SETUP_CELL = """# Google Colab only (does nothing anywhere else): get this series and install what Colab lacks.
import os
import sys

REPO_URL = "https://github.com/{repo}"
if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:
    import runpy
    import subprocess

    folder = os.environ.get("CARTPOLE_DQN_COLAB_DIR", "/content/cartpole-dqn")
    if not os.path.isdir(folder):
        source = os.environ.get("CARTPOLE_DQN_REPO", REPO_URL)  # a local copy, for tests
        subprocess.run(["git", "clone", "--quiet", "--depth=1", source, folder], check=True)
    runpy.run_path(os.path.join(folder, "scripts", "colab_setup.py"), run_name="__main__")"""


def colab_url(notebook_name: str, repo: str = REPO) -> str:
    """The address that opens ``notebooks/<notebook_name>`` from GitHub in Colab."""
    return f"https://colab.research.google.com/github/{repo}/blob/{BRANCH}/notebooks/{notebook_name}"


def badge(notebook_name: str, repo: str = REPO) -> str:
    """Markdown for the "Open in Colab" badge of one notebook."""
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(notebook_name, repo)})"


def readme_badges(repo: str = REPO) -> str:
    """The README's badge block: Colab (notebook 01), Binder and Codespaces, all from ``repo``."""
    binder = f"https://mybinder.org/v2/gh/{repo}/{BRANCH}?urlpath=lab/tree/notebooks"
    codespaces = f"https://codespaces.new/{repo}?quickstart=1"
    return "\n".join(
        [
            BADGES_START,
            badge("01_random_baseline.ipynb", repo),
            f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder})",
            f"[![Open in GitHub Codespaces](https://github.com/codespaces/badge.svg)]({codespaces})",
            BADGES_END,
        ]
    )


def update_readme(repo: str = REPO, path: Path = README) -> bool:
    """Rewrite the README's badge block for ``repo``; True when it changed."""
    text = path.read_text(encoding="utf-8")
    start, end = text.find(BADGES_START), text.find(BADGES_END)
    if start < 0 or end < start:
        raise SystemExit(f"error: {path} has no badge block ({BADGES_START} ... {BADGES_END}); add one.")
    new = text[:start] + readme_badges(repo) + text[end + len(BADGES_END) :]
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def expected_cells(notebook_name: str, repo: str = REPO) -> list[dict]:
    """The two cells every notebook starts with: the badge, then the Colab setup cell."""
    markdown = (
        f"{badge(notebook_name, repo)}\n\n"
        "*In Google Colab, run the next cell first (it installs this series; it may ask for one restart). "
        "Anywhere else it does nothing.*"
    )
    return [
        {
            "cell_type": "markdown",
            "id": "colab-badge",
            "metadata": {"tags": [TAG]},
            "source": markdown,
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "colab-setup",
            "metadata": {"tags": [TAG]},
            "outputs": [],
            "source": SETUP_CELL.format(repo=repo),
        },
    ]


def _text(source: str | list[str]) -> str:
    return "".join(source) if isinstance(source, list) else source


def differs(notebook: dict, notebook_name: str, repo: str = REPO) -> str | None:
    """Why the notebook's first cells are not the expected ones, or None when they are."""
    cells = notebook.get("cells", [])
    for index, want in enumerate(expected_cells(notebook_name, repo)):
        if index >= len(cells):
            return f"cell {index + 1} is missing"
        have = cells[index]
        if have.get("cell_type") != want["cell_type"]:
            return f"cell {index + 1} is a {have.get('cell_type')} cell, expected the Colab {want['cell_type']} cell"
        if _text(have.get("source", "")) != want["source"]:
            return f"cell {index + 1} differs from the source in scripts/colab_cell.py"
    return None


def update(notebook: dict, notebook_name: str, repo: str = REPO) -> dict:
    """Replace the tagged Colab cells (wherever they are) by the current ones, at the top."""
    kept = [cell for cell in notebook["cells"] if TAG not in cell.get("metadata", {}).get("tags", [])]
    notebook["cells"] = [nbformat.from_dict(cell) for cell in expected_cells(notebook_name, repo)] + kept
    if notebook.get("nbformat_minor", 0) < 5:  # cell ids need nbformat 4.5
        notebook["nbformat_minor"] = 5
    return notebook


def update_file(path: Path, repo: str = REPO) -> bool:
    """Write the current Colab cells into one notebook file; True when it changed."""
    notebook = nbformat.read(path, as_version=4)
    if differs(notebook, path.name, repo) is None:
        return False
    nbformat.write(update(notebook, path.name, repo), path)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: notebooks/[0-9][0-9]_*.ipynb)")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if a notebook needs updating")
    parser.add_argument("--repo", default=REPO, help=f"owner/name on GitHub (default: {REPO})")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        print("error: no notebooks found; pass their paths.", file=sys.stderr)
        return 2
    stale = []
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        reason = differs(notebook, path.name, args.repo)
        if reason is None:
            continue
        if args.check:
            stale.append(f"{path}: {reason}")
        elif update_file(path, args.repo):
            print(f"updated {path}")
    if args.check and readme_badges(args.repo) not in README.read_text(encoding="utf-8"):
        stale.append(f"{README}: the badge block differs")
    elif not args.check and not args.notebooks and update_readme(args.repo):
        print(f"updated {README}")
    if stale:
        print("\n".join(stale), file=sys.stderr)
        print("Run `python scripts/colab_cell.py` to write the Colab cells into these notebooks.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
