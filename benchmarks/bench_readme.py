"""The benchmark tables of the README and of docs/ are what the renderers make of the saved results."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType

import pytest

from . import render, render_bulk, render_formats, render_heap, render_openai_client, render_providers, saved
from .corpus import REPO_ROOT


def test_readme_table_is_rendered_from_the_newest_results() -> None:
    path = render.latest_results()
    source = str(path.relative_to(REPO_ROOT))
    expected = render.render_summary(json.loads(path.read_text()), source)
    assert render.section(render.README, render.START, render.END) == expected


def test_benchmarks_page_is_rendered_from_the_newest_results() -> None:
    path = render.latest_results()
    source = str(path.relative_to(REPO_ROOT))
    expected = render.render(json.loads(path.read_text()), source)
    assert render.section(render.PAGE, render.START, render.END) == expected


def test_bulk_table_is_rendered_from_the_newest_results() -> None:
    path = render_bulk.latest()
    source = str(path.relative_to(REPO_ROOT))
    expected = render_bulk.render(json.loads(path.read_text()), source)
    assert render.section(render_bulk.PAGE, render_bulk.START, render_bulk.END) == expected


def test_openai_client_table_and_headline_are_rendered_from_the_newest_results() -> None:
    path = render_openai_client.latest()
    source = str(path.relative_to(REPO_ROOT))
    doc = json.loads(path.read_text())
    start, end = render_openai_client.START, render_openai_client.END
    assert render.section(render.PAGE, start, end) == render_openai_client.render(doc, source)
    assert render.section(render.README, start, end) == render_openai_client.render_headline(doc, source)


@pytest.mark.parametrize("renderer", [render_providers, render_formats, render_heap], ids=lambda m: m.KIND)
def test_saved_kind_is_rendered_from_the_newest_results(renderer: ModuleType) -> None:
    path = saved.latest(renderer.KIND)
    source = str(path.relative_to(REPO_ROOT))
    doc = json.loads(path.read_text())
    start, end = saved.START.format(renderer.KIND), saved.END.format(renderer.KIND)
    assert render.section(render.README, start, end) == renderer.render_headline(doc, source)
    assert render.section(render.PAGE, start, end) == renderer.render(doc, source)


def test_the_newest_results_are_those_of_the_latest_recorded_run(tmp_path: Path) -> None:
    runs = {
        "2026-12-08-b.json": "2026-12-08 02:00:02 UTC",
        "2026-12-08-a.json": "2026-12-08 05:02:24 UTC",
        "2026-12-07-c.json": "2026-12-07T21:50:08+00:00",
        "2026-12-06-d.json": "2026-12-06",
    }
    for k, (name, date) in enumerate(runs.items()):
        path = tmp_path / name
        path.write_text(json.dumps({"date": date}))
        os.utime(path, (1_000_000 - k, 1_000_000 - k))  # file times in another order than the runs
    assert render.newest(tmp_path, "a run").name == "2026-12-08-a.json"
    (tmp_path / "2026-12-08-z.json").write_text(json.dumps({"date": "2026-12-08 05:02:24 UTC"}))
    assert render.newest(tmp_path, "a run").name == "2026-12-08-z.json"
    with pytest.raises(SystemExit, match="no results"):
        render.newest(tmp_path / "none", "a run")
