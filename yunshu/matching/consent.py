"""Consent screens on the foundation's DataGrant: an enterprise shares with a provider from the
pool, and a provider reads its inbox (grants, matched demand, invitations, city assignments).

The grant itself is written only by yunshu.enterprises.services (grant_create / grant_revoke);
this module adds what the screens need around it: choosing an approved provider, a bounded
expiry, a double-click guard, and the inbox reads.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from yunshu.accounts.models import Role
from yunshu.assessments import engine
from yunshu.assessments.definitions import engine_questionnaire
from yunshu.assessments.models import Assessment, Questionnaire
from yunshu.assessments.selectors import assessments_visible_to, latest_results_visible_to
from yunshu.assessments.templatetags.assessment_tags import level_name
from yunshu.core.errors import check
from yunshu.enterprises import permissions as enterprise_permissions
from yunshu.enterprises.models import DataGrant, Enterprise
from yunshu.enterprises.selectors import active_grants, enterprises_visible_to
from yunshu.enterprises.services import diagnosis_assign, grant_create
from yunshu.providers.models import Product, Provider, VettingState
from yunshu.providers.selectors import provider_for

from . import snapshot
from .models import EventInvitation, MatchmakingEvent, MatchRun, Proposal, Recommendation

Decision = tuple[bool, str]

SHARE_DEFAULT_DAYS = 90
SHARE_MAX_DAYS = 365
# A second identical share inside this window is the same click, not a new grant.
DOUBLE_SUBMIT_SECONDS = 10
PROVIDER_CHOICES_LIMIT = 50


def _org(user: Any) -> Any:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    org = user.organisation
    return org if org is not None and org.is_active else None


# -- who may use which screen ------------------------------------------------------------------


def own_enterprise(user: Any) -> Enterprise | None:
    """The enterprise an enterprise user acts for (None for every other user)."""
    org = _org(user)
    if org is None or org.kind != Role.ENTERPRISE or org.enterprise_id is None:
        return None
    return Enterprise.objects.filter(pk=org.enterprise_id).first()


def can_share(user: Any) -> Decision:
    org = _org(user)
    if org is None or org.kind != Role.ENTERPRISE or org.enterprise_id is None:
        return False, _("只有企业用户可以授权服务商查看数据")
    return True, ""


def can_use_inbox(user: Any) -> Decision:
    org = _org(user)
    if org is None or org.kind != Role.PROVIDER:
        return False, _("只有服务商可以查看需求收件箱")
    return True, ""


# -- sharing -----------------------------------------------------------------------------------


def share_providers(*, q: str = "", limit: int = PROVIDER_CHOICES_LIMIT) -> list[Provider]:
    """Approved providers an enterprise may share with, searched by name or credit code."""
    qs = Provider.objects.filter(vetting_state=VettingState.APPROVED).only(
        "pk", "name", "uscc", "organisation_id", "trust_grade", "rating_average", "rating_count"
    )
    q = q.strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(uscc__startswith=q.upper()))
    return list(qs.order_by("name", "id")[:limit])


def share_expiry(day: dt.date) -> dt.datetime:
    """A grant chosen "until <day>" lasts to the end of that day, local time."""
    end = dt.datetime.combine(day, dt.time(23, 59, 59))
    return timezone.make_aware(end, timezone.get_current_timezone())


def share_default_expiry() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=SHARE_DEFAULT_DAYS)


def share_latest_expiry() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=SHARE_MAX_DAYS)


def share_create(
    *,
    enterprise: Enterprise,
    provider: Provider,
    by: Any,
    expires_on: dt.date,
    scope_profile: bool,
    scope_assessments: bool,
    purpose: str = "",
) -> DataGrant:
    """Share with a provider from the pool through grant_create; a double click makes one grant."""
    check(enterprise_permissions.can_grant_access(by, enterprise))
    errors: dict[str, list[str]] = {}
    if provider.vetting_state != VettingState.APPROVED:
        errors["provider"] = [_("只能授权已入库的服务商")]
    today = timezone.localdate()
    if expires_on < today:
        errors["expires_on"] = [_("有效期不能早于今天")]
    elif expires_on > share_latest_expiry():
        errors["expires_on"] = [
            _("有效期最长一年（%(day)s 之前）") % {"day": share_latest_expiry()}
        ]
    if not (scope_profile or scope_assessments):
        errors["scope_profile"] = [_("请至少选择一项授权范围")]
    purpose = (purpose or "").strip()
    if len(purpose) > 200:
        errors["purpose"] = [_("用途最多 200 字")]
    if errors:
        raise ValidationError(errors)
    expires_at = share_expiry(expires_on)
    with transaction.atomic():
        # Serialise shares of one enterprise, so two quick identical submits see each other.
        Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()
        same = (
            DataGrant.objects.filter(
                enterprise=enterprise,
                provider_id=provider.organisation_id,
                source=DataGrant.Source.ENTERPRISE,
                scope_profile=scope_profile,
                scope_assessments=scope_assessments,
                expires_at=expires_at,
                purpose=purpose,
                revoked_at=None,
                created_at__gte=timezone.now() - dt.timedelta(seconds=DOUBLE_SUBMIT_SECONDS),
            )
            .order_by("-created_at")
            .first()
        )
        if same is not None:
            return same
        return grant_create(
            enterprise=enterprise,
            provider=provider.organisation,
            by=by,
            expires_at=expires_at,
            scope_profile=scope_profile,
            scope_assessments=scope_assessments,
            purpose=purpose,
        )


def grant_status(grant: DataGrant, at: dt.datetime | None = None) -> str:
    """active | expired | revoked, for a list."""
    if grant.revoked_at is not None:
        return "revoked"
    return "active" if grant.expires_at > (at or timezone.now()) else "expired"


def shares_of(user: Any) -> QuerySet[DataGrant]:
    """The enterprise's own grants, newest first (none for anyone else)."""
    org = _org(user)
    if org is None or org.kind != Role.ENTERPRISE or org.enterprise_id is None:
        return DataGrant.objects.none()
    return (
        DataGrant.objects.filter(enterprise_id=org.enterprise_id)
        .select_related("provider", "provider__provider")
        .order_by("-created_at", "-id")
    )


# -- the provider's inbox ----------------------------------------------------------------------

INBOX_TABS = ("grants", "demand", "events", "assignments")
# Invitations to events still ahead count on the badge; past ones stay listed.
UPCOMING_EVENT_STATES = (MatchmakingEvent.State.OPEN, MatchmakingEvent.State.CLOSED)


def inbox_counts(user: Any) -> dict[str, int]:
    """The badge on each tab; three queries whatever the numbers."""
    org = _org(user)
    if org is None or org.kind != Role.PROVIDER:
        return dict.fromkeys(INBOX_TABS, 0)
    grants = active_grants().filter(provider=org)
    counts = grants.aggregate(
        grants=Count("pk", filter=Q(source=DataGrant.Source.ENTERPRISE)),
        assignments=Count("pk", filter=Q(source=DataGrant.Source.CITY_ASSIGNMENT)),
    )
    return {
        "grants": counts["grants"],
        "demand": inbox_demand(user).count(),
        "events": inbox_invitations(user).filter(event__state__in=UPCOMING_EVENT_STATES).count(),
        "assignments": counts["assignments"],
    }


def inbox_grants(user: Any) -> QuerySet[DataGrant]:
    """Grants an enterprise gave this provider that are in force now."""
    org = _org(user)
    if org is None or org.kind != Role.PROVIDER:
        return DataGrant.objects.none()
    return (
        active_grants()
        .filter(provider=org, source=DataGrant.Source.ENTERPRISE)
        .select_related("enterprise", "enterprise__town")
        .order_by("-created_at", "-id")
    )


def inbox_assignments(user: Any) -> QuerySet[DataGrant]:
    """Diagnoses the city assigned to this (lead) provider that are in force now."""
    org = _org(user)
    if org is None or org.kind != Role.PROVIDER:
        return DataGrant.objects.none()
    return (
        active_grants()
        .filter(provider=org, source=DataGrant.Source.CITY_ASSIGNMENT)
        .select_related("enterprise", "enterprise__town")
        .order_by("-created_at", "-id")
    )


def inbox_demand(user: Any) -> QuerySet[Enterprise]:
    """Enterprises that themselves shared their profile with this provider and still do.
    (City assignments have their own tab.) The existing selector has the last word."""
    if not can_use_inbox(user)[0]:
        return Enterprise.objects.none()
    shared = active_grants().filter(
        provider=user.organisation, source=DataGrant.Source.ENTERPRISE, scope_profile=True
    )
    return (
        enterprises_visible_to(user, scope="profile")
        .filter(pk__in=shared.values("enterprise_id"))
        .order_by("name", "id")
    )


def inbox_invitations(user: Any) -> QuerySet[EventInvitation]:
    org = _org(user)
    if org is None or org.kind != Role.PROVIDER:
        return EventInvitation.objects.none()
    return (
        EventInvitation.objects.filter(organisation=org)
        .exclude(event__state=MatchmakingEvent.State.DRAFT)
        .select_related("event", "event__cluster", "event__town")
        .order_by("-event__starts_at", "-id")
    )


@dataclass(frozen=True)
class Gap:
    key: str
    name: str
    level: int
    mandatory: bool


@dataclass
class DemandRow:
    enterprise: Enterprise
    assessments_shared: bool = False
    assessed: bool = False
    level_label: str = ""
    gaps: list[Gap] = field(default_factory=list)
    # The provider's own products the newest run recommended: shown only under an
    # assessments-scope grant, since the ranking reads the enterprise's levels.
    recommended: list[Product] = field(default_factory=list)
    recommended_from_assessment: bool = False
    proposals: list[Proposal] = field(default_factory=list)


def _scene_name(scene: engine.Scene) -> str:
    en = (get_language() or "").startswith("en")
    return scene.name_en if en and scene.name_en else scene.name_zh


def gaps_from(q: engine.Questionnaire, scene_levels: dict[str, Any]) -> list[Gap]:
    """Scenes below the target level (二级 by default: the same one matching and the heat map
    use), mandatory ones first, then the widest gap first."""
    target = snapshot.target_level()
    gaps = [
        Gap(s.key, _scene_name(s), int(level), s.mandatory)
        for s in q.scenes
        if (level := scene_levels.get(s.key)) is not None and int(level) < target
    ]
    return sorted(gaps, key=lambda g: (not g.mandatory, g.level))


def newest_run_id() -> int | None:
    return (
        MatchRun.objects.filter(status=MatchRun.Status.SUCCEEDED)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )


def demand_rows(user: Any, enterprises: list[Enterprise]) -> list[DemandRow]:
    """What the provider may know about each enterprise of a page: gaps, and which of its own
    products the newest run recommended, only if the assessments scope was granted (both
    come from the enterprise's assessment levels). A fixed number of queries for any page
    size."""
    rows = [DemandRow(enterprise=e) for e in enterprises]
    if not rows or not can_use_inbox(user)[0]:
        return rows
    ids = [e.pk for e in enterprises]
    by_id = {r.enterprise.pk: r for r in rows}
    shared = set(
        enterprises_visible_to(user, scope="assessments")
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    )
    results = (
        latest_results_visible_to(user, kind=Questionnaire.Kind.MATURITY)
        .filter(assessment__enterprise_id__in=shared)
        .select_related("assessment__questionnaire")
    )
    for result in results:
        row = by_id[result.assessment.enterprise_id]
        q = engine_questionnaire(result.assessment.questionnaire)
        row.assessed = True
        row.level_label = level_name(int(result.level or 0))
        row.gaps = gaps_from(q, result.computed.get("scene_levels") or {})
    for pk in shared:
        by_id[pk].assessments_shared = True
    provider = provider_for(user)
    if provider is None:
        return rows
    run_id = newest_run_id()
    if run_id is not None and shared:
        recs = (
            Recommendation.objects.filter(
                run_id=run_id, provider=provider, enterprise_id__in=shared
            )
            .select_related("product")
            .order_by("enterprise_id", "rank")
        )
        for rec in recs:
            row = by_id[rec.enterprise_id]
            row.recommended.append(rec.product)
            row.recommended_from_assessment |= rec.assessed
    for proposal in Proposal.objects.filter(provider=provider, enterprise_id__in=ids).order_by(
        "-created_at", "-id"
    ):
        by_id[proposal.enterprise_id].proposals.append(proposal)
    return rows


def diagnoses_by_enterprise(user: Any, enterprise_ids: list[int]) -> dict[int, list[Assessment]]:
    """This provider's own diagnosis assessments of the given enterprises (drafts included)."""
    org = _org(user)
    found: dict[int, list[Assessment]] = defaultdict(list)
    if org is None or not enterprise_ids:
        return found
    for a in assessments_visible_to(user).filter(
        organisation=org, source=Assessment.Source.DIAGNOSIS, enterprise_id__in=enterprise_ids
    ):
        found[a.enterprise_id].append(a)
    return found


# -- the city assigns a diagnosis to a lead provider -------------------------------------------


def assignable_lead_providers() -> QuerySet[Provider]:
    """Lead providers (牵引单位) the city may assign a diagnosis to: in the pool now (approved,
    so not suspended, revoked or still under review)."""
    return (
        Provider.objects.filter(
            vetting_state=VettingState.APPROVED, organisation__is_lead_provider=True
        )
        .select_related("organisation")
        .order_by("name", "pk")
    )


def diagnosis_assignments_of(enterprise: Enterprise) -> QuerySet[DataGrant]:
    """The city's diagnosis assignments for one enterprise, newest first (ended ones too)."""
    return (
        DataGrant.objects.filter(enterprise=enterprise, source=DataGrant.Source.CITY_ASSIGNMENT)
        .select_related("provider", "granted_by")
        .order_by("-created_at", "-id")
    )


def diagnosis_assignment_create(
    *, enterprise: Enterprise, provider: Provider, by: Any, expires_on: dt.date
) -> DataGrant:
    """Assign a lead provider from the pool to diagnose an enterprise on the transformation
    list, through the foundation's diagnosis_assign (audited, both sides notified). A second
    assignment of the same provider while one is in force returns that one."""
    check(enterprise_permissions.can_assign_diagnosis(by, enterprise))
    errors: dict[str, list[str]] = {}
    if not assignable_lead_providers().filter(pk=provider.pk).exists():
        errors["provider"] = [_("只能指派资源池中的牵引单位（已入库且未暂停）")]
    if expires_on < timezone.localdate():
        errors["expires_on"] = [_("有效期不能早于今天")]
    elif expires_on > share_latest_expiry():
        errors["expires_on"] = [
            _("有效期最长一年（%(day)s 之前）") % {"day": share_latest_expiry()}
        ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # Serialise assignments of one enterprise, so a double click makes one.
        Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()
        current = (
            active_grants()
            .filter(
                enterprise=enterprise,
                provider_id=provider.organisation_id,
                source=DataGrant.Source.CITY_ASSIGNMENT,
            )
            .first()
        )
        if current is not None:
            return current
        return diagnosis_assign(
            enterprise=enterprise,
            provider=provider.organisation,
            by=by,
            expires_at=share_expiry(expires_on),
        )
