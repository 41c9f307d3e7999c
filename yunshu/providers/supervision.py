"""Platform security profiles and incidents: the reads (selectors) and writes (services).

A provider keeps its own platforms' profiles and reports its incidents; the city reads them
all and may record an incident too. Every write refreshes the provider's trust rating.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from yunshu.accounts.models import Role
from yunshu.core.audit import audit_record, changed, snapshot
from yunshu.core.errors import check
from yunshu.core.notifications import notify

from . import permissions_supervision as perms
from .models import Incident, Platform, Provider
from .selectors import provider_for
from .trust import provider_trust_refresh

PLATFORM_FIELDS = (
    "name",
    "datacentre_location",
    "datacentre_mainland",
    "encryption_in_transit",
    "encryption_at_rest",
    "backup_rpo_hours",
    "backup_rto_hours",
    "exit_plan",
    "data_return_days",
)
INCIDENT_FIELDS = (
    "platform",
    "occurred_at",
    "severity",
    "summary",
    "data_affected",
    "resolved_at",
    "resolution",
)
MAX_HOURS = 24 * 365
MAX_RETURN_DAYS = 365


# -- people to tell ---------------------------------------------------------------------------


def provider_people(provider_id: int) -> list[Any]:
    return list(
        get_user_model().objects.filter(
            is_active=True, organisation__provider__pk=provider_id, organisation__is_active=True
        )
    )


def city_people() -> list[Any]:
    return list(
        get_user_model().objects.filter(
            is_active=True, organisation__kind=Role.CITY, organisation__is_active=True
        )
    )


def enterprise_people(enterprise_id: int) -> list[Any]:
    return list(
        get_user_model().objects.filter(
            is_active=True,
            organisation__enterprise_id=enterprise_id,
            organisation__is_active=True,
        )
    )


# -- selectors --------------------------------------------------------------------------------


def platforms_visible_to(user: Any) -> QuerySet[Platform]:
    """The city sees every platform; a provider its own; nobody else any."""
    qs = Platform.objects.select_related("provider").annotate(
        unresolved_count=Count("incidents", filter=Q(incidents__resolved_at=None))
    )
    if perms.is_city(user):
        return qs
    mine = provider_for(user)
    return qs.filter(provider=mine) if mine is not None else qs.none()


def incidents_visible_to(user: Any) -> QuerySet[Incident]:
    qs = Incident.objects.select_related("platform__provider", "reported_by")
    if perms.is_city(user):
        return qs
    mine = provider_for(user)
    return qs.filter(platform__provider=mine) if mine is not None else qs.none()


def incident_filter(
    qs: QuerySet[Incident],
    *,
    provider: int | None = None,
    severity: str = "",
    state: str = "",
    q: str = "",
) -> QuerySet[Incident]:
    if provider:
        qs = qs.filter(platform__provider_id=provider)
    if severity:
        qs = qs.filter(severity=severity)
    if state == "open":
        qs = qs.filter(resolved_at=None)
    elif state == "resolved":
        qs = qs.exclude(resolved_at=None)
    if q:
        qs = qs.filter(
            Q(summary__icontains=q)
            | Q(platform__name__icontains=q)
            | Q(platform__provider__name__icontains=q)
        )
    return qs


def providers_supervised_by(user: Any) -> QuerySet[Provider]:
    """Providers with their platform and open-incident counts: all for the city, own otherwise."""
    qs = Provider.objects.annotate(
        platform_count=Count("platforms", distinct=True),
        unresolved_count=Count(
            "platforms__incidents",
            filter=Q(platforms__incidents__resolved_at=None),
            distinct=True,
        ),
    )
    if perms.is_city(user):
        return qs
    mine = provider_for(user)
    return qs.filter(pk=mine.pk) if mine is not None else qs.none()


GRADE_FILTERS = ("A", "B", "C", "D")


def supervision_overview_filter(
    qs: QuerySet[Provider], *, grade: str = "", q: str = ""
) -> QuerySet[Provider]:
    """The overview's rows, in its order: the page and its Excel export read the same."""
    if grade in GRADE_FILTERS:
        qs = qs.filter(trust_grade=grade)
    q = q.strip()
    if q:
        qs = qs.filter(name__icontains=q)
    return qs.order_by("trust_score", "name", "id")


# -- validation -------------------------------------------------------------------------------


def _clean_platform(data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(PLATFORM_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: _("该字段不可修改")})
    errors: dict[str, str] = {}
    for key in ("name", "datacentre_location"):
        if key in data:
            data[key] = str(data[key] or "").strip()
            if not data[key]:
                errors[key] = _("必填")
    if "exit_plan" in data:
        data["exit_plan"] = str(data["exit_plan"] or "").strip()
    for key, limit in (
        ("backup_rpo_hours", MAX_HOURS),
        ("backup_rto_hours", MAX_HOURS),
        ("data_return_days", MAX_RETURN_DAYS),
    ):
        value = data.get(key)
        if value is not None and not (0 <= int(value) <= limit):
            errors[key] = _("应在 0 到 %(limit)s 之间") % {"limit": limit}
    if errors:
        raise ValidationError(errors)
    return data


# -- platform services ------------------------------------------------------------------------


@transaction.atomic
def platform_create(*, provider: Provider, by: Any, data: dict[str, Any]) -> Platform:
    check(perms.can_create_platform(by, provider))
    data = _clean_platform(dict(data))
    Provider.objects.select_for_update().filter(pk=provider.pk).first()
    if Platform.objects.filter(provider=provider, name=data.get("name", "")).exists():
        raise ValidationError({"name": _("已有同名平台，请修改原有档案")})
    platform = Platform(provider=provider, **data)
    platform.full_clean()
    platform.save()
    audit_record(
        actor=by, action="platform.create", obj=platform, after=snapshot(platform, PLATFORM_FIELDS)
    )
    provider_trust_refresh(provider=provider)
    return platform


@transaction.atomic
def platform_update(*, platform: Platform, by: Any, data: dict[str, Any]) -> Platform:
    check(perms.can_edit_platform(by, platform))
    data = _clean_platform(dict(data))
    locked = Platform.objects.select_for_update().get(pk=platform.pk)
    before = snapshot(locked, PLATFORM_FIELDS)
    for key, value in data.items():
        setattr(locked, key, value)
    if (
        Platform.objects.filter(provider_id=locked.provider_id, name=locked.name)
        .exclude(pk=locked.pk)
        .exists()
    ):
        raise ValidationError({"name": _("已有同名平台")})
    locked.full_clean()
    after = snapshot(locked, PLATFORM_FIELDS)
    if before == after:
        return locked
    locked.updated_at = timezone.now()
    old, new = changed(before, after)
    if locked.verified_at is not None:
        # What the city checked is no longer what the profile says.
        old["verified_at"], new["verified_at"] = locked.verified_at, None
        locked.verified_at, locked.verified_by = None, None
    locked.save()
    audit_record(actor=by, action="platform.update", obj=locked, before=old, after=new)
    provider_trust_refresh(provider=locked.provider)
    return locked


@transaction.atomic
def platform_verify(*, platform: Platform, by: Any) -> Platform:
    """The city has checked the profile against evidence: its trust reasons stop saying
    "self-declared" (a later edit by the provider undoes this)."""
    check(perms.can_verify_platform(by, platform))
    locked = Platform.objects.select_for_update().select_related("provider").get(pk=platform.pk)
    if locked.verified_at is not None:
        return locked  # a double click
    locked.verified_at, locked.verified_by = timezone.now(), by
    locked.save(update_fields=["verified_at", "verified_by"])
    audit_record(
        actor=by,
        action="platform.verify",
        obj=locked,
        before={"verified_at": None},
        after={"verified_at": locked.verified_at, "verified_by": by.pk},
    )
    provider_trust_refresh(provider=locked.provider)
    notify(
        recipients=provider_people(locked.provider_id),
        subject=_("平台安全档案已经市工信局核实：%(p)s") % {"p": locked.name},
        url=reverse("providers:platform_detail", args=[locked.pk]),
    )
    return locked


# -- incident services ------------------------------------------------------------------------


def _check_times(occurred_at: dt.datetime, resolved_at: dt.datetime | None) -> None:
    now = timezone.now()
    errors: dict[str, str] = {}
    if occurred_at > now + dt.timedelta(minutes=5):
        errors["occurred_at"] = _("发生时间不能晚于现在")
    if resolved_at is not None:
        if resolved_at < occurred_at:
            errors["resolved_at"] = _("处置完成时间不能早于发生时间")
        elif resolved_at > now + dt.timedelta(minutes=5):
            errors["resolved_at"] = _("处置完成时间不能晚于现在")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def incident_report(
    *,
    platform: Platform,
    by: Any,
    occurred_at: dt.datetime,
    severity: str,
    summary: str,
    data_affected: bool = False,
    resolved_at: dt.datetime | None = None,
    resolution: str = "",
) -> Incident:
    """A provider reports an incident on its platform, or the city records one."""
    check(perms.can_report_incident(by, platform))
    summary, resolution = summary.strip(), resolution.strip()
    if severity not in Incident.Severity.values:
        raise ValidationError({"severity": _("请选择严重程度")})
    if not summary:
        raise ValidationError({"summary": _("请填写事件概述")})
    if resolved_at is not None and not resolution:
        raise ValidationError({"resolution": _("已处置的事件请填写处置情况")})
    _check_times(occurred_at, resolved_at)
    Platform.objects.select_for_update().filter(pk=platform.pk).first()
    # A double click sends the same report twice: the second finds the first.
    same = Incident.objects.filter(
        platform=platform, occurred_at=occurred_at, summary=summary, severity=severity
    ).first()
    if same is not None:
        return same
    incident = Incident(
        platform=platform,
        occurred_at=occurred_at,
        severity=severity,
        summary=summary,
        data_affected=data_affected,
        resolved_at=resolved_at,
        resolution=resolution,
        reported_by=by,
        source=Incident.Source.CITY if perms.is_city(by) else Incident.Source.PROVIDER,
    )
    incident.full_clean()
    incident.save()
    audit_record(
        actor=by, action="incident.report", obj=incident, after=snapshot(incident, INCIDENT_FIELDS)
    )
    provider_trust_refresh(provider=platform.provider)
    url = reverse("providers:incident_detail", args=[incident.pk])
    subject = _("安全事件：%(platform)s（%(severity)s）") % {
        "platform": platform.name,
        "severity": incident.get_severity_display(),
    }
    if perms.is_city(by):
        notify(
            recipients=provider_people(platform.provider_id), subject=subject, body=summary, url=url
        )
    else:
        notify(
            recipients=city_people(),
            subject=_("%(provider)s 报告了%(subject)s")
            % {"provider": platform.provider.name, "subject": subject},
            body=summary,
            url=url,
        )
    return incident


@transaction.atomic
def incident_resolve(
    *, incident: Incident, by: Any, resolution: str, resolved_at: dt.datetime | None = None
) -> Incident:
    """Record that an incident is handled. The city may close any incident; a provider only
    one it reported itself (for a city-recorded one it proposes, and the city confirms)."""
    locked = (
        Incident.objects.select_for_update()
        .select_related("platform__provider")
        .get(pk=incident.pk)
    )
    city = perms.is_city(by)
    check((city or perms.can_edit_platform(by, locked.platform)[0], ""))
    allowed, reason = perms.can_resolve_incident(by, locked)
    if not allowed:
        raise ValidationError(reason)
    resolution = resolution.strip()
    if not resolution:
        raise ValidationError({"resolution": _("请填写处置情况")})
    resolved_at = resolved_at or timezone.now()
    _check_times(locked.occurred_at, resolved_at)
    fields = ("resolved_at", "resolution", "proposed_resolution")
    before = snapshot(locked, fields)
    locked.resolved_at, locked.resolution = resolved_at, resolution
    locked.save(update_fields=["resolved_at", "resolution"])
    audit_record(
        actor=by,
        action="incident.resolve",
        obj=locked,
        before=before,
        after=snapshot(locked, fields),
    )
    provider_trust_refresh(provider=locked.platform.provider)
    url = reverse("providers:incident_detail", args=[locked.pk])
    subject = _("安全事件已处置：%(summary)s") % {"summary": locked.summary}
    people = provider_people(locked.platform.provider_id) if city else city_people()
    notify(recipients=people, subject=subject, body=resolution, url=url)
    return locked


@transaction.atomic
def incident_resolution_propose(*, incident: Incident, by: Any, resolution: str) -> Incident:
    """The provider says how it handled an incident the city recorded; nothing about the
    rating changes until the city confirms it by resolving the incident."""
    locked = (
        Incident.objects.select_for_update()
        .select_related("platform__provider")
        .get(pk=incident.pk)
    )
    check((perms.can_edit_platform(by, locked.platform)[0], ""))
    allowed, reason = perms.can_propose_incident_resolution(by, locked)
    if not allowed:
        raise ValidationError(reason)
    resolution = resolution.strip()
    if not resolution:
        raise ValidationError({"resolution": _("请填写处置情况")})
    if resolution == locked.proposed_resolution:
        return locked  # the same text sent twice
    fields = ("proposed_resolution", "proposed_at")
    before = snapshot(locked, fields)
    locked.proposed_resolution, locked.proposed_at, locked.proposed_by = (
        resolution,
        timezone.now(),
        by,
    )
    locked.save(update_fields=["proposed_resolution", "proposed_at", "proposed_by"])
    audit_record(
        actor=by,
        action="incident.propose_resolution",
        obj=locked,
        before=before,
        after=snapshot(locked, fields),
    )
    notify(
        recipients=city_people(),
        subject=_("%(provider)s 提交了安全事件的处置情况，请确认：%(summary)s")
        % {"provider": locked.platform.provider.name, "summary": locked.summary},
        body=resolution,
        url=reverse("providers:incident_detail", args=[locked.pk]),
    )
    return locked
