"""The benchmark suite's own code runs (bench/ is not imported by the application, so nothing
else would notice it breaking). Tiny worlds; figures are not checked, shapes are."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_list_pages_benchmark_reports_timings_and_constant_query_counts():
    from bench import list_pages
    from yunshu.core.demo import create_demo_users, generate_enterprises
    from yunshu.providers.demo import generate_providers

    generate_enterprises(120, seed=3)
    create_demo_users()
    generate_providers(6, 40, seed=3)
    result = list_pages.measure(rounds=1)
    for page in ("enterprise_list", "catalogue"):
        figures = result["pages"][page]
        assert figures["samples"] > 0 and figures["p95_ms"] >= figures["p50_ms"] > 0
        assert figures["cold"]["samples"] > 0
        assert figures["query_count_constant"], figures["queries_by_page_size"]
    assert result["value"] == max(p["p95_ms"] for p in result["pages"].values())


def test_the_import_benchmark_file_imports_cleanly(tmp_path, monkeypatch):
    from bench import import_bench
    from yunshu.enterprises.importer import import_enterprises

    monkeypatch.setattr(import_bench, "VAR", tmp_path)
    path = import_bench.make_file(300, seed=9)
    report, _rejected = import_enterprises(path)
    assert report.rows_invalid == 0 and report.created == 300, report.errors[:3]
