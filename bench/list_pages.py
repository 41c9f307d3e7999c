"""`list_pages`: server time of the list pages that officials and the public page through.

Each page is requested through Django's full stack in-process (middleware, session, permission
selector, template), several filter and sort combinations, at page sizes 25 / 50 / 100; the
query count is recorded per page size so a per-row query shows up as a count that grows.
"""

from __future__ import annotations

import random
import time
from typing import Any

from .common import summary_ms

ENTERPRISE_QUERIES = [
    "",
    "sort=-revenue",
    "sort=town",
    "size_class=small&sort=-employees",
    "above_scale=1",
    "q=科技",
    "cluster={cluster}&sort=-revenue",
    "town={town}",
    "town={town}&size_class=micro&sort=name",
]
CATALOGUE_QUERIES = [
    "",
    "q=MES",
    "scene=quality",
    "cluster={cluster}",
    "deployment=saas&sort=weeks",
    "scene=production_control&size=small",
]


def _timed(client: Any, url: str) -> tuple[float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        t0 = time.perf_counter()
        response = client.get(url)
        seconds = time.perf_counter() - t0
    return seconds, len(ctx.captured_queries), response.status_code


def _page(client: Any, base: str, queries: list[str], rounds: int, rng: random.Random) -> dict:
    from yunshu.core.models import Cluster, Town

    towns = list(Town.objects.values_list("pk", flat=True))
    clusters = list(Cluster.objects.values_list("pk", flat=True))
    from django.core.cache import cache

    timings: list[float] = []
    cold: list[float] = []
    counts: dict[int, set[int]] = {}
    for size in (25, 50, 100):
        for query in queries:
            q = query.format(town=rng.choice(towns), cluster=rng.choice(clusters))
            url = f"{base}?{q}&per_page={size}&page={rng.randint(1, 5)}"
            # Cold: the first view after a write, when the totals are counted afresh.
            cache.clear()
            seconds, _n, _status = _timed(client, url)
            cold.append(seconds)
            for _ in range(rounds):
                seconds, n, status = _timed(client, url)
                if status != 200:
                    raise RuntimeError(f"{url} answered {status}")
                timings.append(seconds)
                counts.setdefault(size, set()).add(n)
    per_size = {size: max(ns) for size, ns in counts.items()}
    return {
        **summary_ms(timings),
        "cold": summary_ms(cold),
        "queries_by_page_size": per_size,
        "query_count_constant": len(set(per_size.values())) == 1,
    }


def measure(*, rounds: int = 5, seed: int = 7) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from yunshu.enterprises.models import Enterprise
    from yunshu.providers.models import Product

    rng = random.Random(seed)
    city = get_user_model().objects.get(username="city")
    officer = Client()
    officer.force_login(city)
    public = Client()
    pages = {
        "enterprise_list": _page(officer, "/enterprises/", ENTERPRISE_QUERIES, rounds, rng),
        "catalogue": _page(public, "/catalogue/", CATALOGUE_QUERIES, rounds, rng),
    }
    worst = max(p["p95_ms"] for p in pages.values())
    return {
        "scale": {
            "enterprises": Enterprise.objects.count(),
            "products": Product.objects.count(),
        },
        "value": worst,
        "unit": "ms (p95, slowest page)",
        "pages": pages,
        "targets": {"p95_ms": "<= 150", "query_count": "constant across page sizes"},
        "notes": "in-process requests through the full middleware stack; no response cache. "
        "p50/p95 are warm (totals and the distribution counted once per data version); "
        "'cold' is the first view after a write, with the cache emptied before it",
    }
