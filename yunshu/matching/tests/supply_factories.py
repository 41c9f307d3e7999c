"""Test data for the supply and demand table and matchmaking events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from yunshu.accounts.models import Organisation, Role
from yunshu.assessments.models import Assessment, AssessmentResult, Questionnaire
from yunshu.core.models import Cluster
from yunshu.factories import EnterpriseFactory, OrganisationFactory, town, user_for

SCENES = [
    "product_design",
    "process_design",
    "marketing",
    "after_sales",
    "planning_scheduling",
    "production_control",
    "quality",
    "equipment",
    "safety",
    "energy",
    "procurement",
    "warehousing_logistics",
    "finance",
    "human_resources",
    "collaboration",
    "decision_support",
]


def cluster(key: str = "textile") -> Cluster:
    return Cluster.objects.get(key=key)


def _assessor() -> Organisation:
    org = Organisation.objects.filter(kind=Role.ASSESSOR, name="测试评估机构").first()
    return org or OrganisationFactory(kind=Role.ASSESSOR, name="测试评估机构")


def assess(enterprise: Any, levels: dict[str, Any], *, when: dt.datetime | None = None) -> Any:
    """A submitted maturity assessment whose current result has these scene levels (every other
    scene at 二级; "na" → not applicable)."""
    full: dict[str, Any] = dict.fromkeys(SCENES, 2)
    full.update({k: (None if v == "na" else v) for k, v in levels.items()})
    org = getattr(enterprise, "organisation", None) or _assessor()
    a = Assessment.objects.create(
        enterprise=enterprise,
        questionnaire=Questionnaire.objects.get(key="maturity-2024"),
        source=Assessment.Source.SELF
        if org.kind == Role.ENTERPRISE
        else Assessment.Source.OFFICIAL,
        status=Assessment.Status.SUBMITTED,
        organisation=org,
        submitted_at=when or timezone.now(),
    )
    AssessmentResult.objects.create(
        assessment=a, version=1, computed={"scene_levels": full, "level": 1}, level=1
    )
    return a


def assessed(
    levels: dict[str, Any] | None = None,
    *,
    cluster_key: str = "textile",
    town_name: str = "虎门",
    account: bool = False,
    **kw: Any,
) -> Any:
    """An enterprise of the cluster with a submitted maturity result; account=True gives it a
    platform account (an organisation and a user), returned as enterprise.user."""
    e = EnterpriseFactory(cluster=cluster(cluster_key), town=town(town_name), **kw)
    user = user_for(Role.ENTERPRISE, enterprise=e) if account else None
    e.refresh_from_db()
    assess(e, levels or {})
    e.user = user
    return e


def event(by: Any, *, cluster_key: str = "textile", **kw: Any) -> Any:
    """A matchmaking event in draft, made through the service."""
    from yunshu.matching.events import event_create

    fields: dict[str, Any] = {
        "cluster": cluster(cluster_key),
        "title": kw.pop("title", "纺织服装数字化供需对接会"),
        "starts_at": kw.pop("starts_at", timezone.now() + dt.timedelta(days=14)),
        "venue": kw.pop("venue", "虎门镇会展中心"),
        "capacity": kw.pop("capacity", 50),
    }
    fields.update(kw)
    return event_create(by=by, **fields)


def held(event: Any) -> Any:
    """The event's day has come (it started an hour ago), so it may be marked held."""
    from yunshu.matching.models import MatchmakingEvent

    MatchmakingEvent.objects.filter(pk=event.pk).update(
        starts_at=timezone.now() - dt.timedelta(hours=1)
    )
    event.refresh_from_db()
    return event
