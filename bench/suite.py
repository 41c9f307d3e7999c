"""`yunshu bench [--quick] --json PATH`: every benchmark, each with its baselines measured in
the same run, on a generated world of a stated scale in the DATABASE_URL database."""

from __future__ import annotations

import datetime as dt
import json
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .common import database_label, machine, on_postgres


@dataclass(frozen=True)
class Scale:
    name: str
    enterprises: int
    import_rows: int
    http_seconds: int  # per round; three rounds per target
    list_rounds: int
    recommend_samples: int


CITY = Scale("city", 200_000, 200_000, 6, 5, 200)
QUICK = Scale("quick", 20_000, 10_000, 2, 2, 50)


def world(scale: Scale, log: Callable[[str], None]) -> dict[str, Any]:
    """Build the demo world at this scale once; later runs reuse it."""
    from yunshu.assessments.models import Assessment
    from yunshu.core.demo import build_demo_world
    from yunshu.enterprises.models import Enterprise
    from yunshu.providers.models import Product, Provider

    have = Enterprise.objects.count()
    built_seconds = None
    if have == 0:
        log(f"building the {scale.name} world ({scale.enterprises:,} enterprises) ...")
        t0 = time.perf_counter()
        build_demo_world(scale=scale.enterprises, seed=2026)
        built_seconds = round(time.perf_counter() - t0, 1)
    elif have < scale.enterprises:
        raise SystemExit(
            f"the database holds {have:,} enterprises, fewer than the {scale.name} scale "
            f"({scale.enterprises:,}); point DATABASE_URL at an empty scratch database"
        )
    return {
        "enterprises": Enterprise.objects.count(),
        "assessments": Assessment.objects.count(),
        "providers": Provider.objects.count(),
        "products": Product.objects.count(),
        "built_seconds": built_seconds,
    }


def _benchmarks(scale: Scale) -> dict[str, Callable[[], dict[str, Any]]]:
    from . import http_bench, import_bench, list_pages, rescore

    found: dict[str, Callable[[], dict[str, Any]]] = {
        "import": lambda: import_bench.measure(scale.import_rows),
        "list_pages": lambda: list_pages.measure(rounds=scale.list_rounds),
        "http": lambda: http_bench.measure(
            seconds=scale.http_seconds, warm_seconds=max(2, scale.http_seconds - 2)
        ),
        "assessment_rescore": rescore.measure,
    }
    try:
        from . import recommend
    except ImportError:
        pass
    else:
        found["recommend"] = lambda: recommend.measure(samples=scale.recommend_samples)
    return found


def run(*, quick: bool, json_path: Path | None, only: list[str] | None = None) -> dict[str, Any]:
    scale = QUICK if quick else CITY

    def log(text: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)

    started = time.perf_counter()
    out: dict[str, Any] = {
        "machine": {
            **machine(),
            "database": database_label(),
            "postgresql": on_postgres(),
            "run_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
        "scale": asdict(scale),
        "world": world(scale, log),
        "benchmarks": {},
    }
    for name, fn in _benchmarks(scale).items():
        if only and name not in only:
            continue
        log(f"{name} ...")
        t0 = time.perf_counter()
        try:
            result = fn()
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            result = {"value": None, "error": f"{type(exc).__name__}: {exc}"}
            traceback.print_exc()
        result.setdefault("database", database_label())
        result["seconds"] = round(time.perf_counter() - t0, 1)
        out["benchmarks"][name] = result
        log(f"{name}: {result.get('value')} {result.get('unit', '')} ({result['seconds']} s)")
        if json_path:
            json_path.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    out["seconds"] = round(time.perf_counter() - started, 1)
    if json_path:
        json_path.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    return out
