"""`assessment_rescore`: every current maturity result re-scored after a level-rule change,
through the real background task (rescore_run).

In the suite it uses the world's stored maturity responses. Standalone (as issue 3 measured
it, 50,000 responses):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yunshu_bench .venv/bin/python bench/rescore.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def measure() -> dict[str, Any]:
    from django.db import connection

    from yunshu.accounts.models import User
    from yunshu.assessments.definitions import RULE_DIR
    from yunshu.assessments.models import Assessment, Questionnaire
    from yunshu.assessments.rules import rescore_run, rule_activate
    from yunshu.core.audit import audit_verify

    stored = Assessment.objects.filter(questionnaire__key="maturity-2024").count()
    rule = json.loads((RULE_DIR / "maturity-2024-default.json").read_text())
    rule["key"] = f"maturity-2024-bench-{int(time.time())}"
    for row in rule["levels"]:
        row["min_base"] = row["min_base"] + 5
    city = User.objects.get(username="city")
    q = Questionnaire.objects.get(key="maturity-2024")
    job = rule_activate(questionnaire=q, text=json.dumps(rule), by=city)
    t0 = time.perf_counter()
    rescore_run.call(job.pk)
    seconds = time.perf_counter() - t0
    job.refresh_from_db()
    _checked, problem = audit_verify()
    return {
        "database": connection.vendor,
        "scale": {"stored_maturity_responses": stored},
        "value": round(seconds, 2),
        "unit": "s",
        "targets": {"value": "<= 30 s for 50,000 responses on PostgreSQL"},
        "notes": f"{job.done} re-scored, {job.changed} levels changed, job {job.status}, "
        f"audit chain {'ok' if problem is None else 'BROKEN'}",
    }


def main() -> dict[str, Any]:
    from django.core.management import call_command

    from yunshu.assessments.demo import generate_assessments
    from yunshu.assessments.models import Assessment
    from yunshu.core.demo import create_demo_users, generate_enterprises
    from yunshu.enterprises.models import Enterprise

    scale = int(os.environ.get("BENCH_RESPONSES", "50000"))
    call_command("migrate", verbosity=0)
    if Enterprise.objects.count() < scale:
        generate_enterprises(scale - Enterprise.objects.count(), seed=50)
    create_demo_users()
    missing = scale - Assessment.objects.filter(questionnaire__key="maturity-2024").count()
    if missing > 0:
        generate_assessments(missing, seed=50, kinds=("maturity",))
    return measure()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    # The job is timed by calling it directly; enqueueing only stores a row.
    os.environ["TASK_BACKEND"] = "db"
    import django

    django.setup()
    print(json.dumps(main(), ensure_ascii=False, indent=2))
