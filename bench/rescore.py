"""Benchmark: re-scoring 50,000 stored maturity responses after a level-rule change.

Runs the real background task (rescore_run) on generated data in its own database, and
prints JSON. Usage (PostgreSQL, as the issue asks):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yunshu_bench .venv/bin/python bench/rescore.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
# The job is timed by calling it directly; enqueueing only stores a row.
os.environ["TASK_BACKEND"] = "db"

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

SCALE = int(os.environ.get("BENCH_RESPONSES", "50000"))


def main() -> dict[str, object]:
    from yunshu.assessments.definitions import RULE_DIR
    from yunshu.assessments.demo import generate_assessments
    from yunshu.assessments.models import Assessment, Questionnaire
    from yunshu.assessments.rules import rescore_run, rule_activate
    from yunshu.core.audit import audit_verify
    from yunshu.core.demo import create_demo_users, generate_enterprises
    from yunshu.enterprises.models import Enterprise

    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    # Generated once per database; later runs reuse it (each run installs a new rule).
    if Enterprise.objects.count() < SCALE:
        generate_enterprises(SCALE - Enterprise.objects.count(), seed=50)
    create_demo_users()
    missing = SCALE - Assessment.objects.filter(questionnaire__key="maturity-2024").count()
    if missing > 0:
        generate_assessments(missing, seed=50, kinds=("maturity",))
    setup = time.perf_counter() - t0
    stored = Assessment.objects.filter(questionnaire__key="maturity-2024").count()

    rule = json.loads((RULE_DIR / "maturity-2024-default.json").read_text())
    rule["key"] = f"maturity-2024-bench-{int(time.time())}"
    for row in rule["levels"]:
        row["min_base"] = row["min_base"] + 5
    from yunshu.accounts.models import User

    city = User.objects.get(username="city")
    q = Questionnaire.objects.get(key="maturity-2024")
    job = rule_activate(questionnaire=q, text=json.dumps(rule), by=city)
    t1 = time.perf_counter()
    rescore_run.call(job.pk)
    seconds = time.perf_counter() - t1
    job.refresh_from_db()
    _checked, problem = audit_verify()
    return {
        "benchmark": "assessment_rescore",
        "database": connection.vendor,
        "scale": {"stored_maturity_responses": stored},
        "value": round(seconds, 2),
        "unit": "s",
        "target": "<= 30 s",
        "rescored": job.done,
        "level_changed": job.changed,
        "status": job.status,
        "setup_seconds": round(setup, 1),
        "audit_chain_ok": problem is None,
    }


if __name__ == "__main__":
    print(json.dumps(main(), ensure_ascii=False, indent=2))
