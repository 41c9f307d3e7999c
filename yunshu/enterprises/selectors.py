from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from yunshu.accounts.models import Role

from .importer import import_rows_slice
from .models import AccessLogEntry, DataGrant, Enterprise, EnterpriseClaim, ImportJob


def _org(user: Any) -> Any:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    org = user.organisation
    return org if org is not None and org.is_active else None


def active_grants(*, at: Any = None) -> QuerySet[DataGrant]:
    """Grants in force: not revoked, not expired, and to a provider in the pool. A suspended
    or revoked provider reads nothing; its grants come back into force if it is reinstated
    before they expire."""
    moment = at or timezone.now()
    return DataGrant.objects.filter(
        revoked_at=None, expires_at__gt=moment, provider__provider__vetting_state="approved"
    )


def enterprises_visible_to(user: Any, *, scope: str = "profile") -> QuerySet[Enterprise]:
    """Every read of enterprises starts here; what a user may not see does not exist for them.

    scope is "profile" or "assessments": a provider sees only what its grants cover.
    """
    qs = Enterprise.objects.select_related("town", "industry", "cluster")
    if getattr(user, "is_superuser", False) and user.is_active:
        return qs
    org = _org(user)
    if org is None:
        return qs.none()
    match org.kind:
        case Role.CITY:
            return qs
        case Role.TOWN:
            return qs.filter(town_id=org.town_id)
        case Role.ENTERPRISE:
            return qs.filter(pk=org.enterprise_id) if org.enterprise_id else qs.none()
        case Role.ASSESSOR:
            # Acceptance assessments are for the city's transformation list; an assessment
            # body sees those enterprises (and each view of one is logged for it).
            return qs.filter(on_transformation_list=True)
        case Role.PROVIDER:
            grants = active_grants().filter(provider=org)
            if scope == "assessments":
                grants = grants.filter(scope_assessments=True)
            else:
                grants = grants.filter(scope_profile=True)
            return qs.filter(pk__in=grants.values("enterprise_id"))
        case _:
            return qs.none()


def reach_key(user: Any) -> str | None:
    """A name for what enterprises_visible_to(user) returns, for caching figures computed over
    it; None where it depends on more than the enterprise table (a provider's grants)."""
    if getattr(user, "is_superuser", False) and user.is_active:
        return "all"
    org = _org(user)
    if org is None:
        return "none"
    match org.kind:
        case Role.CITY:
            return "all"
        case Role.TOWN:
            return f"town:{org.town_id}"
        case Role.ENTERPRISE:
            return f"enterprise:{org.enterprise_id}"
        case Role.ASSESSOR:
            return "transformation-list"
        case Role.PROVIDER:
            return None
        case _:
            return "none"


def enterprise_filter(
    qs: QuerySet[Enterprise],
    *,
    town: int | None = None,
    cluster: int | None = None,
    size_class: str | None = None,
    above_scale: bool | None = None,
    specialised: bool | None = None,
    q: str = "",
) -> QuerySet[Enterprise]:
    if town:
        qs = qs.filter(town_id=town)
    if cluster:
        qs = qs.filter(cluster_id=cluster)
    if size_class:
        qs = qs.filter(size_class=size_class)
    if above_scale is not None:
        qs = qs.filter(above_scale=above_scale)
    if specialised is not None:
        qs = qs.filter(specialised=specialised)
    q = q.strip()
    if q:
        code = q.upper().replace(" ", "")
        if len(code) == 18 and code.isalnum():
            qs = qs.filter(uscc=code)
        else:
            qs = qs.filter(Q(name__icontains=q) | Q(uscc__startswith=code))
    return qs


def access_log_for(user: Any, enterprise: Enterprise) -> QuerySet[AccessLogEntry]:
    """The enterprise reads who looked at its data ("谁看过我的数据"); so does the city."""
    org = _org(user)
    if org is None:
        return AccessLogEntry.objects.none()
    if org.kind == Role.CITY or (
        org.kind == Role.ENTERPRISE and org.enterprise_id == enterprise.pk
    ):
        return AccessLogEntry.objects.filter(enterprise=enterprise)
    return AccessLogEntry.objects.none()


def grants_visible_to(user: Any) -> QuerySet[DataGrant]:
    qs = DataGrant.objects.select_related("enterprise", "provider")
    org = _org(user)
    if org is None:
        return qs.none()
    match org.kind:
        case Role.CITY:
            return qs
        case Role.ENTERPRISE:
            return qs.filter(enterprise_id=org.enterprise_id)
        case Role.PROVIDER:
            return qs.filter(provider=org)
        case _:
            return qs.none()


def claims_reviewable_by(user: Any) -> QuerySet[EnterpriseClaim]:
    qs = EnterpriseClaim.objects.select_related("enterprise__town", "organisation", "applicant")
    org = _org(user)
    if org is None:
        return qs.none()
    if org.kind == Role.CITY:
        return qs
    if org.kind == Role.TOWN:
        return qs.filter(enterprise__town_id=org.town_id)
    return qs.none()


def enterprises_pending_verification(user: Any) -> QuerySet[Enterprise]:
    org = _org(user)
    if org is None or org.kind not in (Role.CITY, Role.TOWN):
        return Enterprise.objects.none()
    return enterprises_visible_to(user).filter(verification="pending")


def import_jobs_visible_to(user: Any) -> QuerySet[ImportJob]:
    org = _org(user)
    if org is None or org.kind != Role.CITY:
        return ImportJob.objects.none()
    return ImportJob.objects.select_related("created_by")


def enterprise_history(enterprise: Enterprise, *, limit: int = 50) -> list[Any]:
    """The audit entries about one enterprise, newest first. An import writes one entry per
    batch of rows (keyed by enterprise id), so those show this enterprise's slice only."""
    from yunshu.core.models import AuditEntry

    key = str(enterprise.pk)
    own = AuditEntry.objects.filter(object_type="enterprises.enterprise", object_id=key).exclude(
        action="enterprise.import_rows"
    )
    batches = AuditEntry.objects.filter(action="enterprise.import_rows", after__has_key=key)
    entries = sorted(
        [*own.order_by("-seq")[:limit], *batches.order_by("-seq")[:limit]],
        key=lambda e: -e.seq,
    )[:limit]
    for entry in entries:
        if entry.action == "enterprise.import_rows":
            entry.before, entry.after = import_rows_slice(entry.before, entry.after, key)
    return entries
