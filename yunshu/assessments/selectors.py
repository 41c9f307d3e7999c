from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from yunshu.accounts.models import Role
from yunshu.core.versions import cached_under
from yunshu.enterprises.selectors import enterprises_visible_to, reach_key

from .models import Assessment, AssessmentResult


def assessments_visible_to(user: Any) -> QuerySet[Assessment]:
    """Every read of assessments starts here. A draft is seen only by its author; a provider
    sees assessments (its diagnoses included) only of enterprises whose grant of the
    assessments scope is in force."""
    qs = Assessment.objects.select_related("enterprise", "questionnaire", "organisation")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if user.is_superuser:
        return qs
    org = user.organisation
    if org is None or not org.is_active:
        return qs.none()
    # A draft is its author's alone.
    qs = qs.filter(~Q(status=Assessment.Status.DRAFT) | Q(organisation=org))
    match org.kind:
        # The same reach as enterprises_visible_to, written as plain filters: an IN over the
        # enterprise table made the city's level distribution scan 200,000 rows for nothing.
        case Role.CITY:
            return qs
        case Role.TOWN:
            return qs.filter(enterprise__town_id=org.town_id)
        case Role.ENTERPRISE:
            return qs.filter(enterprise_id=org.enterprise_id) if org.enterprise_id else qs.none()
        case Role.PROVIDER:
            # Only while the enterprise's grant lasts, its own diagnoses included.
            granted = enterprises_visible_to(user, scope="assessments").values("pk")
            return qs.filter(enterprise__in=granted)
        case Role.ASSESSOR:
            return qs.filter(organisation=org)
        case _:
            return qs.none()


def with_current_result(qs: QuerySet[Assessment]) -> QuerySet[Assessment]:
    return qs.prefetch_related(
        Prefetch(
            "results",
            queryset=AssessmentResult.objects.filter(is_current=True),
            to_attr="current_results",
        )
    )


def current_result(assessment: Assessment) -> AssessmentResult | None:
    cached = getattr(assessment, "current_results", None)
    if cached is not None:
        return cached[0] if cached else None
    return assessment.results.filter(is_current=True).first()


LEVELS = (0, 1, 2, 3, 4)
GRADES = ("high", "medium", "low")


def latest_results_visible_to(
    user: Any, *, kind: str, source: str = ""
) -> QuerySet[AssessmentResult]:
    """The current result of each enterprise's latest submitted assessment of one kind."""
    assessments = assessments_visible_to(user).filter(
        questionnaire__kind=kind, status__in=[Assessment.Status.SUBMITTED, Assessment.Status.SIGNED]
    )
    if source:
        assessments = assessments.filter(source=source)
    newer = assessments.filter(
        enterprise_id=OuterRef("assessment__enterprise_id"),
        submitted_at__gt=OuterRef("assessment__submitted_at"),
    )
    return AssessmentResult.objects.filter(
        is_current=True, assessment__in=assessments.values("pk")
    ).exclude(Exists(newer))


def _assessment_reach_key(user: Any) -> str | None:
    """A name for the submitted assessments assessments_visible_to(user) reaches (drafts
    never count in figures), or None where it depends on grants or the user's own work."""
    role = getattr(user, "role", None)
    if role in (Role.CITY, Role.TOWN, Role.ENTERPRISE) or getattr(user, "is_superuser", False):
        return reach_key(user)
    return None


def level_distribution(user: Any, *, by: str, kind: str, source: str = "") -> list[dict[str, Any]]:
    """Rows of (town or cluster) with counts per level (maturity) or risk grade (security)."""
    group = {"town": "assessment__enterprise__town", "cluster": "assessment__enterprise__cluster"}[
        by
    ]
    value = "level" if kind == "maturity" else "risk_grade"

    def count() -> list[dict[str, Any]]:
        return list(
            latest_results_visible_to(user, kind=kind, source=source)
            .values(f"{group}__name_zh", f"{group}__name_en", f"{group}__sort_order", value)
            .annotate(n=Count("id"))
            .order_by(f"{group}__sort_order")
        )

    # Grouping every current result takes hundreds of milliseconds at city scale: counted
    # once per version of the assessments and enterprises (yunshu.core.versions) for each
    # reach; a reach that hangs on grants (providers) is counted every time.
    reach = _assessment_reach_key(user)
    counted = (
        count()
        if reach is None
        else cached_under(
            ("assessments", "enterprises"),
            "level_distribution",
            f"{reach}|{by}|{kind}|{source}",
            count,
        )
    )
    rows: dict[str, dict[str, Any]] = {}
    buckets = LEVELS if kind == "maturity" else GRADES
    for c in counted:
        name_zh = c[f"{group}__name_zh"] or "—"
        row = rows.setdefault(
            name_zh,
            {
                "name_zh": name_zh,
                "name_en": c[f"{group}__name_en"] or "—",
                "counts": dict.fromkeys(buckets, 0),
                "total": 0,
            },
        )
        key = c[value]
        if key in row["counts"]:
            row["counts"][key] += c["n"]
            row["total"] += c["n"]
    return list(rows.values())
