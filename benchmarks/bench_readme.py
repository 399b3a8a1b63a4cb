"""The README's performance tables are what the renderers make of the saved results."""

from __future__ import annotations

import json

from . import render, render_bulk
from .corpus import REPO_ROOT


def section(start: str, end: str) -> str:
    text = (REPO_ROOT / "README.md").read_text()
    return text.split(start, 1)[1].split(end, 1)[0].removeprefix("\n")


def test_performance_section_is_rendered_from_the_newest_results() -> None:
    path = render.latest_results()
    source = str(path.relative_to(REPO_ROOT))
    assert section(render.START, render.END) == render.render(json.loads(path.read_text()), source)


def test_bulk_table_is_rendered_from_the_newest_results() -> None:
    path = render_bulk.latest()
    source = str(path.relative_to(REPO_ROOT))
    assert section(render_bulk.START, render_bulk.END) == render_bulk.render(
        json.loads(path.read_text()), source
    )
