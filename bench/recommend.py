"""Benchmark: matching on PostgreSQL with 10,000 products from 1,000 providers.

  recommend_single  one enterprise's live top 10 (warm catalogue snapshot), p50/p95 over
                    ≥ 200 random enterprises, and the queries each takes        target p95 ≤ 50 ms
  recommend_batch   the stored run for every enterprise (200,000), rows written   target ≤ 120 s

The world is generated once into a scratch database (created if missing) and reused:
200,000 enterprises (yunshu.core.demo), 50,000 submitted maturity self-assessments
(yunshu.assessments.demo) and the provider pool (yunshu.providers.demo). Usage:

    .venv/bin/python bench/recommend.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/other .venv/bin/python bench/recommend.py

BENCH_ENTERPRISES, BENCH_ASSESSMENTS, BENCH_PROVIDERS, BENCH_PRODUCTS and BENCH_SAMPLES change
the scale.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/yunshu_bench_match"
ENTERPRISES = int(os.environ.get("BENCH_ENTERPRISES", "200000"))
ASSESSMENTS = int(os.environ.get("BENCH_ASSESSMENTS", "50000"))
PROVIDERS = int(os.environ.get("BENCH_PROVIDERS", "1000"))
PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "10000"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "300"))
SEED = 4


def create_database(url: str) -> None:
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            conn.execute(f'create database "{name}"')


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def build_world() -> dict[str, float]:
    from django.core.management import call_command

    from yunshu.assessments.demo import generate_assessments
    from yunshu.assessments.models import Assessment
    from yunshu.core.demo import generate_enterprises
    from yunshu.enterprises.models import Enterprise
    from yunshu.providers.demo import generate_providers
    from yunshu.providers.models import Provider

    timings = {}
    call_command("migrate", verbosity=0)
    t = time.perf_counter()
    missing = ENTERPRISES - Enterprise.objects.count()
    if missing > 0:
        generate_enterprises(missing, seed=SEED)
    timings["enterprises_s"] = time.perf_counter() - t
    t = time.perf_counter()
    missing = ASSESSMENTS - Assessment.objects.filter(questionnaire__kind="maturity").count()
    if missing > 0:
        generate_assessments(missing, seed=SEED, kinds=("maturity",))
    timings["assessments_s"] = time.perf_counter() - t
    t = time.perf_counter()
    if Provider.objects.count() < PROVIDERS:
        generate_providers(PROVIDERS, PRODUCTS, seed=SEED)
    timings["providers_s"] = time.perf_counter() - t
    return {k: round(v, 1) for k, v in timings.items()}


def single(samples: int) -> dict[str, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from yunshu.enterprises.models import Enterprise
    from yunshu.matching import recommend, snapshot

    t = time.perf_counter()
    snapshot.clear()
    snap = snapshot.current()
    build_s = time.perf_counter() - t
    ids = list(Enterprise.objects.values_list("id", flat=True))
    rng = random.Random(SEED)
    picked = rng.sample(ids, min(samples, len(ids)))
    # Typical levels of each cluster (for unassessed enterprises) are cached; time them cold
    # once, then measure warm, as a running site is.
    from django.core.cache import cache

    from yunshu.core.models import Cluster

    cache.clear()
    keys = [s.key for s in snap.scenes]
    cold = []
    for cluster_id in [None, *Cluster.objects.values_list("id", flat=True)]:
        t = time.perf_counter()
        recommend.typical_levels_for(cluster_id, keys)
        cold.append((time.perf_counter() - t) * 1000)
    for pk in picked[:20]:
        recommend.recommendations_live(enterprise=Enterprise.objects.get(pk=pk))
    times, queries, assessed = [], [], 0
    for pk in picked:
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            e = Enterprise.objects.select_related("town", "industry", "cluster").get(pk=pk)
            result = recommend.recommendations_live(enterprise=e, top=10)
            times.append((time.perf_counter() - t) * 1000)
        queries.append(len(ctx.captured_queries))
        assessed += result.assessed
        assert len(result.items) == 10
    return {
        "scale": {
            "catalogue_products": snap.n,
            "providers_in_catalogue": len(set(snap.provider_ids.tolist())),
            "enterprises": len(ids),
            "samples": len(picked),
            "samples_assessed": assessed,
        },
        "value": round(percentile(times, 0.95), 2),
        "unit": "ms",
        "target": "p95 <= 50 ms",
        "p50_ms": round(percentile(times, 0.50), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
        "max_ms": round(max(times), 2),
        "mean_ms": round(statistics.fmean(times), 2),
        "queries_per_request": {"min": min(queries), "max": max(queries)},
        "snapshot_build_s": round(build_s, 2),
        "typical_levels_cold_ms": {"max": round(max(cold)), "mean": round(statistics.fmean(cold))},
    }


def page(samples: int) -> dict[str, object]:
    """The same through the web page an officer opens (render and access log included)."""
    from django.test import Client

    from yunshu.accounts.models import Organisation, Role, User
    from yunshu.enterprises.models import Enterprise

    org, _ = Organisation.objects.get_or_create(kind=Role.CITY, name="基准测试市工信局")
    user, _ = User.objects.get_or_create(username="bench-city", defaults={"organisation": org})
    client = Client()
    client.force_login(user)
    rng = random.Random(SEED + 1)
    ids = rng.sample(list(Enterprise.objects.values_list("id", flat=True)), samples)
    client.get(f"/matching/recommendations/{ids[0]}/")
    times = []
    for pk in ids:
        t = time.perf_counter()
        response = client.get(f"/matching/recommendations/{pk}/")
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
    return {
        "p50_ms": round(percentile(times, 0.5), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
        "samples": len(ids),
    }


def batch() -> dict[str, object]:
    from yunshu.matching import recommend
    from yunshu.matching.models import MatchRun

    MatchRun.objects.filter(status__in=["queued", "running"]).update(
        status="failed", failure="bench: cleared"
    )
    t = time.perf_counter()
    run = recommend.match_run_start(by=None, top_n=10, enqueue=False)
    run = recommend.match_run_execute(run.pk)
    seconds = time.perf_counter() - t
    return {
        "scale": {"enterprises": run.enterprises_total, "rows_written": run.rows, "top_n": 10},
        "value": round(seconds, 2),
        "unit": "s",
        "target": "<= 120 s",
        "status": run.status,
        "run_seconds": run.seconds,
        "includes": "snapshot check, loading enterprises and levels, ranking, COPY of the rows, "
        "deleting the previous run's rows",
    }


def measure(*, samples: int = SAMPLES) -> dict[str, object]:
    """For the suite (bench/suite.py): the world is already there; both figures at once."""
    single_result = single(samples)
    single_result["page_through_django"] = page(min(samples, 200))
    batch_result = batch()
    return {
        "scale": {**single_result["scale"], "batch_rows": batch_result["scale"]},  # type: ignore[dict-item]
        "value": single_result["value"],
        "unit": "ms (one enterprise, p95)",
        "targets": {"single_p95_ms": "<= 50", "batch_s": "<= 120 for 200,000 enterprises"},
        "single": single_result,
        "batch": batch_result,
        "notes": f"batch for every enterprise: {batch_result['value']} s",
    }


def main() -> dict[str, object]:
    from django.db import connection

    setup = build_world()
    single_result = single(SAMPLES)
    single_result["page_through_django"] = page(min(SAMPLES, 200))
    batch_result = batch()
    return {
        "benchmarks": {"recommend_single": single_result, "recommend_batch": batch_result},
        "database": f"{connection.vendor} {connection.settings_dict['NAME']}",
        "setup_seconds": setup,
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    os.environ["TASK_BACKEND"] = "db"  # the batch is timed by calling it directly
    create_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    print(json.dumps(main(), ensure_ascii=False, indent=2))
