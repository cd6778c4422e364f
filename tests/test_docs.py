"""The README and docs/: every relative link leads somewhere, and the README stays a two-minute read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "WORKSHOP.md", *sorted((ROOT / "docs").glob("*.md"))]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown page."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def text_of(path: Path) -> str:
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


@pytest.mark.parametrize("source", PAGES + NOTEBOOKS, ids=lambda path: path.name)
def test_relative_links_lead_to_a_file_and_heading(source):
    broken = []
    for target in LINK.findall(text_of(source)):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        path = (source.parent / file).resolve() if file else source
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            broken.append(target)
    assert not broken, f"{source.name}: {broken}"


def test_the_readme_is_short_and_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.split()) <= 1200
    before = readme.split("make run ", 1)[0]
    assert len(before.split()) <= 300 and "make test " in readme


def committed_headline(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return " ".join(
        "".join(output.get("text", ""))
        for cell in cells
        if "headline" in cell["metadata"].get("tags", [])
        for output in cell.get("outputs", [])
    )


def test_the_workshop_checkpoints_are_the_committed_notebooks_headlines():
    """Each checkpoint of WORKSHOP.md's plan is its notebook's headline ("…" stands for what varies, the seconds)."""
    plan = (ROOT / "WORKSHOP.md").read_text(encoding="utf-8").split("## The plan", 1)[1].split("\n## ", 1)[0]
    checked = 0
    for row in re.findall(r"^\| \d:\d\d.*$", plan, re.M):
        number = re.search(r"\*\*(\d\d) ·", row)
        checkpoint = re.findall(r"`([^`]+)`", row.rsplit("|", 2)[-2])
        if not number or not checkpoint:
            continue
        notebook = next((ROOT / "notebooks").glob(f"{number.group(1)}_*.ipynb"))
        headline = committed_headline(notebook)
        pattern = ".*?".join(re.escape(part) for part in checkpoint[0].split("…"))
        assert re.search(pattern, headline), f"WORKSHOP.md's checkpoint for {notebook.name} is not its headline: {headline!r}"
        checked += 1
    assert checked >= 4


def test_the_workshop_names_no_exercise_that_has_no_answer_in_the_key():
    key = (ROOT / "docs" / "workshop-answers.md").read_text(encoding="utf-8")
    workshop = (ROOT / "WORKSHOP.md").read_text(encoding="utf-8").split("### Exercises in the room", 1)[1].split("\n#", 1)[0]
    named = re.findall(r"\b0\d\.\d\b", workshop)
    assert len(named) >= 8
    assert all(f"| {exercise} " in key for exercise in named), named
