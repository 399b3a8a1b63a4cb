"""The benchmarks that save their results run end to end on small settings, their checks included.

Timing figures from these runs mean nothing (one short round); what is tested is that every row is
checked and measured and that the results have what the renderers read.
"""

from __future__ import annotations

import pytest

from . import formats, heap, provider_profiles, render_formats, render_heap, render_providers, saved


@pytest.mark.c_extension
def test_provider_profiles_measure_every_profile_and_provider() -> None:
    doc = saved.header(provider_profiles.KIND, {"rounds": 1, "target_sample_ms": 0.1})
    doc.update(provider_profiles.measure(rounds=1, target_ms=0.1))
    assert set(doc["profiles"]) == {"chat", *provider_profiles.PROVIDER_PROFILES}
    assert doc["profiles"]["chat"]["x_plain"] == 1.0
    assert doc["providers"]["all"]["streams"] == sum(
        row["streams"] for name, row in doc["providers"].items() if name != "all"
    )
    assert "| `openrouter` |" in render_providers.render(doc, "x.json")
    assert "| openrouter |" in render_providers.render_headline(doc, "x.json")


@pytest.mark.c_extension
def test_heap_child_keeps_the_heap_alive_and_times_both_rows() -> None:
    result = heap.child(4_000, rounds=1, target_ms=0.1)
    assert 4_000 <= result["tracked"] <= 4_010
    assert set(result["profiles"]) == set(heap.PROFILES)
    for row in result["profiles"].values():
        assert row["ssedelta"] > 0 and row["msgspec"] > 0 and row["ratio"] == row["ssedelta"] / row["msgspec"]
    doc = {
        **saved.header(heap.KIND, {"rounds": 1, "target_sample_ms": 0.1}),
        "sizes": [result],
        "worst": {"size": 4_000, "tracked": result["tracked"], "profile": "chat", "ratio": 1.0},
        "target": heap.TARGET,
    }
    assert "| 4,000 |" in render_heap.render_headline(doc, "x.json")


@pytest.mark.c_extension
def test_formats_recorded_corpora_merge_alike_on_both_backends() -> None:
    for fmt in formats.FORMATS:
        info, runs = formats._recorded(fmt)
        assert info["streams"] > 10 and info["events"] > info["streams"]
        native, twin = runs["native"](), runs["twin"]()
        assert [r.to_dict() for r in native] == [r.to_dict() for r in twin]
    assert render_formats.TITLES.keys() == set(formats.FORMATS)
