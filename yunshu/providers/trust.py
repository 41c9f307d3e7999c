"""The trust rating (可信评级) of a provider: a pure formula over plain facts, and the service
that stores it on the Provider row.

Formula (docs/trust-rating.md explains each input and which defaults are assumptions):
  platform part   up to 50  — the weakest platform counts (data-centre location, encryption,
                              backup RPO/RTO, exit and data-return plan)
  certificates    up to 50  — each valid approved certificate earns its type's trust points
                              (CertificateType.trust_points / level_points: seeded 等保 三级 30 /
                              二级 20, ISO/IEC 27001 12, 可信云 8), capped at 50
  penalties                 — a mandatory certificate missing (−20) or expired (−40); each security
                              incident by severity, more when unresolved or customer data was hit
  score = clamp(sum, 0, 100); grade A ≥ 85, B ≥ 65, C ≥ 45, D below.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

# -- the formula's constants ------------------------------------------------------------------

MAINLAND_POINTS = 10
TRANSIT_POINTS = 10
AT_REST_POINTS = 10
# (at most this many hours, points); the first band that holds wins.
RPO_BANDS = ((4, 5), (24, 3))
RTO_BANDS = ((4, 5), (24, 3))
EXIT_PLAN_POINTS = 6
RETURN_DAYS_LIMIT = 30
RETURN_DAYS_POINTS = 4
PLATFORM_MAX = (
    MAINLAND_POINTS
    + TRANSIT_POINTS
    + AT_REST_POINTS
    + RPO_BANDS[0][1]
    + RTO_BANDS[0][1]
    + EXIT_PLAN_POINTS
    + RETURN_DAYS_POINTS
)

# Each certificate type carries its own points (CertificateType.trust_points and
# level_points, editable data); together they never earn more than this.
CERTIFICATE_MAX = 50

MANDATORY_MISSING_PENALTY = 20
MANDATORY_EXPIRED_PENALTY = 40

INCIDENT_WINDOW_DAYS = 365
SEVERITIES = ("low", "medium", "high", "critical")
# Penalty per incident: resolved ones count for a year, unresolved ones until resolved.
RESOLVED_PENALTY = {"low": 1, "medium": 3, "high": 6, "critical": 10}
UNRESOLVED_PENALTY = {"low": 5, "medium": 10, "high": 20, "critical": 30}
DATA_AFFECTED_EXTRA = {"low": 2, "medium": 4, "high": 8, "critical": 10}

GRADES = (("A", 85), ("B", 65), ("C", 45), ("D", 0))

SEVERITY_LABELS = {
    "low": _("一般"),
    "medium": _("较大"),
    "high": _("重大"),
    "critical": _("特别重大"),
}

# Reason texts: stored as a code and parameters, worded in the reader's language when shown.
REASON_TEXT: dict[str, Any] = {
    "no_platform": _("尚未填报平台安全档案"),
    "worst_platform": _("共 %(count)s 个平台，按得分最低的「%(platform)s」计分"),
    "mainland": _("「%(platform)s」数据中心位于中国大陆（%(location)s）"),
    "offshore": _("「%(platform)s」数据中心不在中国大陆（%(location)s）"),
    "transit_on": _("「%(platform)s」启用传输加密"),
    "transit_off": _("「%(platform)s」未启用传输加密"),
    "rest_on": _("「%(platform)s」启用存储加密"),
    "rest_off": _("「%(platform)s」未启用存储加密"),
    "rpo": _("「%(platform)s」备份恢复点目标 RPO %(hours)s 小时"),
    "rpo_missing": _("「%(platform)s」未填写备份恢复点目标 RPO"),
    "rto": _("「%(platform)s」恢复时间目标 RTO %(hours)s 小时"),
    "rto_missing": _("「%(platform)s」未填写恢复时间目标 RTO"),
    "exit_plan": _("「%(platform)s」有退出与数据返还方案"),
    "exit_plan_missing": _("「%(platform)s」没有退出与数据返还方案"),
    "return_days": _("「%(platform)s」承诺 %(days)s 天内返还数据"),
    "return_days_slow": _("「%(platform)s」数据返还期限 %(days)s 天，超过 %(limit)s 天"),
    "return_days_missing": _("「%(platform)s」未承诺数据返还期限"),
    "dengbao": _("有效的等保备案（%(level)s）"),
    "dengbao_missing": _("没有有效的等保备案"),
    "iso27001": _("有效的 ISO/IEC 27001 认证"),
    "iso27001_missing": _("没有有效的 ISO/IEC 27001 认证"),
    "trusted_cloud": _("有效的可信云评估"),
    "trusted_cloud_missing": _("没有有效的可信云评估"),
    "mandatory_expired": _("必备证书「%(name)s」已过期"),
    "mandatory_missing": _("缺少必备证书「%(name)s」"),
    "incidents_unresolved": _("%(count)s 起未处置完毕的%(severity)s安全事件"),
    "incidents_resolved": _("近 12 个月内 %(count)s 起已处置的%(severity)s安全事件"),
    "incidents_data": _("（其中 %(data)s 起涉及客户数据）"),
    "no_incidents": _("近 12 个月无安全事件，也没有未处置的事件"),
    "certificate": _("有效的%(name)s"),
    "certificate_level": _("有效的%(name)s，%(level)s"),
    "certificate_missing": _("没有有效的%(name)s"),
    "certificates_capped": _("证书加分合计超过 %(max)s 分，按 %(max)s 分计"),
}
# Reasons that rest on the platform profile the provider filled in itself.
PLATFORM_CODES = frozenset(
    {
        "mainland",
        "offshore",
        "transit_on",
        "transit_off",
        "rest_on",
        "rest_off",
        "rpo",
        "rpo_missing",
        "rto",
        "rto_missing",
        "exit_plan",
        "exit_plan_missing",
        "return_days",
        "return_days_slow",
        "return_days_missing",
    }
)
BASIS_TEXT: dict[str, Any] = {
    "self_declared": _("服务商自报"),
    "verified": _("市工信局已核实"),
}


# -- plain facts in, score out -----------------------------------------------------------------


@dataclass(frozen=True)
class PlatformFacts:
    name: str
    mainland: bool
    location: str = ""
    encryption_in_transit: bool = False
    encryption_at_rest: bool = False
    rpo_hours: int | None = None
    rto_hours: int | None = None
    exit_plan: bool = False
    data_return_days: int | None = None
    verified: bool = False  # the city checked the profile; otherwise the provider's own word


@dataclass(frozen=True)
class IncidentFacts:
    severity: str  # one of SEVERITIES
    resolved: bool
    data_affected: bool = False
    age_days: int = 0  # days since it occurred, as of the day the rating is computed


@dataclass(frozen=True)
class CertificateFacts:
    """One certificate type's standing for the provider: valid = approved and not expired.

    points is what a valid certificate of the type earns (at the best valid level); a type
    with no points is listed only when it is mandatory and missing."""

    type_key: str
    name: str
    mandatory: bool = False
    valid: bool = False
    expired: bool = False  # an approved one of this type existed and has run out
    level: str = ""  # the best valid level, for types with levels
    points: int = 0
    name_en: str = ""


@dataclass(frozen=True)
class Reason:
    code: str
    points: int
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return reason_text({"code": self.code, "params": self.params})

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "points": self.points, "params": self.params}


@dataclass(frozen=True)
class TrustResult:
    score: int
    grade: str
    reasons: list[Reason]


def reason_text(reason: dict[str, Any]) -> str:
    """A stored reason ({"code", "params"}) in the current language's plain words."""
    code = str(reason.get("code", ""))
    template = REASON_TEXT.get(code)
    if template is None:
        return code
    params = dict(reason.get("params") or {})
    if params.get("severity") in SEVERITY_LABELS:
        params["severity"] = str(SEVERITY_LABELS[params["severity"]])
    if params.get("name_en") and (get_language() or "").startswith("en"):
        params["name"] = params["name_en"]
    text = str(template)
    with contextlib.suppress(KeyError, TypeError, ValueError):
        text = text % params
    if code.startswith("incidents_") and params.get("data"):
        text += str(REASON_TEXT["incidents_data"]) % params
    return text


def reason_basis(reason: dict[str, Any]) -> str:
    """Whose word a reason rests on: "self_declared" or "verified" for platform facts, ""
    for facts the platform records itself (certificates the city approved, incidents)."""
    if str(reason.get("code", "")) not in PLATFORM_CODES:
        return ""
    return "verified" if (reason.get("params") or {}).get("verified") else "self_declared"


def basis_text(reason: dict[str, Any]) -> str:
    basis = reason_basis(reason)
    return str(BASIS_TEXT[basis]) if basis else ""


def grade_for(score: int) -> str:
    for grade, floor in GRADES:
        if score >= floor:
            return grade
    return "D"


def _band(hours: int | None, bands: Sequence[tuple[int, int]]) -> int:
    if hours is None:
        return 0
    for limit, points in bands:
        if hours <= limit:
            return points
    return 0


def platform_reasons(p: PlatformFacts) -> list[Reason]:
    """The points one platform earns, each with its reason."""
    name: dict[str, Any] = {"platform": p.name, "verified": p.verified}
    out = [
        Reason("mainland", MAINLAND_POINTS, {**name, "location": p.location})
        if p.mainland
        else Reason("offshore", 0, {**name, "location": p.location}),
        Reason("transit_on", TRANSIT_POINTS, name)
        if p.encryption_in_transit
        else Reason("transit_off", 0, name),
        Reason("rest_on", AT_REST_POINTS, name)
        if p.encryption_at_rest
        else Reason("rest_off", 0, name),
        Reason("rpo", _band(p.rpo_hours, RPO_BANDS), {**name, "hours": p.rpo_hours})
        if p.rpo_hours is not None
        else Reason("rpo_missing", 0, name),
        Reason("rto", _band(p.rto_hours, RTO_BANDS), {**name, "hours": p.rto_hours})
        if p.rto_hours is not None
        else Reason("rto_missing", 0, name),
    ]
    if not p.exit_plan:
        out.append(Reason("exit_plan_missing", 0, name))
        return out
    out.append(Reason("exit_plan", EXIT_PLAN_POINTS, name))
    if p.data_return_days is None:
        out.append(Reason("return_days_missing", 0, name))
    elif p.data_return_days <= RETURN_DAYS_LIMIT:
        out.append(Reason("return_days", RETURN_DAYS_POINTS, {**name, "days": p.data_return_days}))
    else:
        out.append(
            Reason(
                "return_days_slow",
                0,
                {**name, "days": p.data_return_days, "limit": RETURN_DAYS_LIMIT},
            )
        )
    return out


def _platform_part(platforms: Sequence[PlatformFacts]) -> list[Reason]:
    if not platforms:
        return [Reason("no_platform", 0)]
    scored = [(sum(r.points for r in platform_reasons(p)), p.name, p) for p in platforms]
    _total, _name, worst = min(scored, key=lambda t: (t[0], t[1]))
    head = (
        [Reason("worst_platform", 0, {"count": len(platforms), "platform": worst.name})]
        if len(platforms) > 1
        else []
    )
    return head + platform_reasons(worst)


def name_of(cert: CertificateFacts) -> dict[str, str]:
    return {"name": cert.name, "name_en": cert.name_en} if cert.name_en else {"name": cert.name}


def _certificate_part(certificates: Sequence[CertificateFacts]) -> list[Reason]:
    out: list[Reason] = []
    for cert in certificates:
        if cert.points <= 0:
            continue
        name = name_of(cert)
        if not cert.valid:
            out.append(Reason("certificate_missing", 0, name))
        elif cert.level:
            out.append(Reason("certificate_level", cert.points, {**name, "level": cert.level}))
        else:
            out.append(Reason("certificate", cert.points, name))
    earned = sum(r.points for r in out)
    if earned > CERTIFICATE_MAX:
        out.append(
            Reason("certificates_capped", CERTIFICATE_MAX - earned, {"max": CERTIFICATE_MAX})
        )
    for cert in certificates:
        if cert.mandatory and not cert.valid:
            if cert.expired:
                out.append(Reason("mandatory_expired", -MANDATORY_EXPIRED_PENALTY, name_of(cert)))
            else:
                out.append(Reason("mandatory_missing", -MANDATORY_MISSING_PENALTY, name_of(cert)))
    return out


def incident_penalty(i: IncidentFacts) -> int:
    """Points one incident costs (0 once it is resolved and older than the window)."""
    if i.resolved and i.age_days > INCIDENT_WINDOW_DAYS:
        return 0
    base = (RESOLVED_PENALTY if i.resolved else UNRESOLVED_PENALTY)[i.severity]
    return base + (DATA_AFFECTED_EXTRA[i.severity] if i.data_affected else 0)


def _incident_part(incidents: Sequence[IncidentFacts]) -> list[Reason]:
    out: list[Reason] = []
    for resolved in (False, True):
        for severity in reversed(SEVERITIES):
            group = [
                i
                for i in incidents
                if i.resolved == resolved and i.severity == severity and incident_penalty(i)
            ]
            if not group:
                continue
            out.append(
                Reason(
                    "incidents_resolved" if resolved else "incidents_unresolved",
                    -sum(incident_penalty(i) for i in group),
                    {
                        "count": len(group),
                        "severity": severity,
                        "data": sum(1 for i in group if i.data_affected),
                    },
                )
            )
    return out or [Reason("no_incidents", 0)]


def trust_score(
    *,
    platforms: Iterable[PlatformFacts],
    incidents: Iterable[IncidentFacts],
    certificates: Iterable[CertificateFacts],
) -> TrustResult:
    """Score 0–100, grade A–D and every reason with its points. Pure: no database, no clock."""
    reasons = (
        _platform_part(list(platforms))
        + _certificate_part(list(certificates))
        + _incident_part(list(incidents))
    )
    score = max(0, min(100, sum(r.points for r in reasons)))
    return TrustResult(score=score, grade=grade_for(score), reasons=reasons)


# -- from the database ------------------------------------------------------------------------


def trust_inputs(
    provider: Any, *, today: dt.date | None = None, types: Sequence[Any] | None = None
) -> tuple[list[PlatformFacts], list[IncidentFacts], list[CertificateFacts]]:
    """The provider's platforms, incidents and certificates as plain facts, as of today.
    types: the certificate types, when the caller already read them (a batch)."""
    from .models import Certificate, CertificateType, Incident, Platform

    today = today or timezone.localdate()
    platforms = [
        PlatformFacts(
            name=p.name,
            mainland=p.datacentre_mainland,
            location=p.datacentre_location,
            encryption_in_transit=p.encryption_in_transit,
            encryption_at_rest=p.encryption_at_rest,
            rpo_hours=p.backup_rpo_hours,
            rto_hours=p.backup_rto_hours,
            exit_plan=bool(p.exit_plan.strip()),
            data_return_days=p.data_return_days,
            verified=p.verified_at is not None,
        )
        for p in Platform.objects.filter(provider=provider).order_by("name", "id")
    ]
    incidents = [
        IncidentFacts(
            severity=i.severity,
            resolved=i.resolved_at is not None,
            data_affected=i.data_affected,
            age_days=(today - timezone.localdate(i.occurred_at)).days,
        )
        for i in Incident.objects.filter(platform__provider=provider)
    ]
    approved = list(
        Certificate.objects.filter(provider=provider, status=Certificate.Status.APPROVED)
    )
    certificates = [
        facts
        for ctype in (types if types is not None else CertificateType.objects.all())
        if (
            facts := certificate_facts(ctype, [c for c in approved if c.type_id == ctype.pk], today)
        )
    ]
    return platforms, incidents, certificates


def certificate_facts(
    ctype: Any, approved: Sequence[Any], today: dt.date
) -> CertificateFacts | None:
    """One type's standing from its approved certificates (None: nothing to say about it)."""
    valid = [c for c in approved if c.expires_on >= today]
    if not approved and not ctype.mandatory and not ctype.earns_points:
        return None
    best = max(valid, key=lambda c: ctype.points_for(c.level), default=None)
    if best is not None:
        points, level = ctype.points_for(best.level), best.level if ctype.has_level else ""
    else:  # what a valid one would earn: says whether the type is listed as missing
        points, level = int(ctype.earns_points), ""
    return CertificateFacts(
        type_key=ctype.key,
        name=ctype.name_zh,
        name_en=ctype.name_en,
        mandatory=ctype.mandatory,
        valid=bool(valid),
        expired=bool(approved) and not valid,
        level=level,
        points=points,
    )


def provider_trust(
    provider: Any, *, today: dt.date | None = None, types: Sequence[Any] | None = None
) -> TrustResult:
    platforms, incidents, certificates = trust_inputs(provider, today=today, types=types)
    return trust_score(platforms=platforms, incidents=incidents, certificates=certificates)


def _store(provider: Any, today: dt.date | None = None, types: Sequence[Any] | None = None) -> bool:
    """Write the rating onto the row; True (and audited) only when score, grade or a reason
    changed, so an unchanged rating writes nothing and moves no version."""
    from yunshu.core.audit import audit_record

    from .models import Provider

    result = provider_trust(provider, today=today, types=types)
    reasons = [r.as_json() for r in result.reasons]
    row = (
        Provider.objects.select_for_update()
        .filter(pk=provider.pk)
        .values("trust_score", "trust_grade", "trust_reasons")
        .first()
    )
    if row is None:
        return False
    provider.trust_score, provider.trust_grade, provider.trust_reasons = (
        result.score,
        result.grade,
        reasons,
    )
    after = {"trust_score": result.score, "trust_grade": result.grade, "trust_reasons": reasons}
    if row == after:
        return False
    Provider.objects.filter(pk=provider.pk).update(**after)
    audit_record(actor=None, action="provider.trust_refresh", obj=provider, before=row, after=after)
    return True


@transaction.atomic
def provider_trust_refresh(*, provider: Any, bump: bool = True) -> bool:
    """Recompute and store provider.trust_score / trust_grade / trust_reasons; True if the
    rating changed, and only then is the catalogue version bumped (bump=False: the caller
    bumps it once for its whole write).

    Called after any change to platforms, incidents or certificates, on approval into the
    pool, and by the daily job (incidents age out of the 12-month window and certificates
    expire without any write).
    """
    from .catalogue_version import catalogue_bump

    changed = _store(provider)
    if changed and bump:
        catalogue_bump()
    return changed


def trust_refresh_all(today: dt.date | None = None) -> int:
    """Refresh every provider's rating (for the daily scheduled job); returns how many changed.

    Bumps the catalogue once at the end, and only when something changed."""
    from .catalogue_version import catalogue_bump
    from .models import CertificateType, Provider

    types = list(CertificateType.objects.all())
    changed = 0
    for pk in Provider.objects.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            provider = Provider.objects.only("pk", "name").get(pk=pk)
            changed += _store(provider, today, types)
    if changed:
        catalogue_bump()
    return changed


TRUST_MARKER = "trust-daily"  # object_id of the job's daily audit entry


def _done_today(today: dt.date) -> bool:
    from yunshu.core.models import AuditEntry

    last = (
        AuditEntry.objects.filter(object_type="schedule", object_id=TRUST_MARKER)
        .order_by("-seq")
        .values_list("after", flat=True)
        .first()
    )
    if not (last and isinstance(last, dict) and last.get("day")):
        return False
    return dt.date.fromisoformat(str(last["day"])) >= today


def trust_tick(today: dt.date) -> dict[str, int]:
    """The scheduled job (yunshu.core.schedule), run every tick but working once a day:
    the first tick of a day refreshes every rating and records the day; later ticks that
    day find the record and do nothing (like the certificate job's daily part)."""
    from yunshu.core.audit import audit_record

    if _done_today(today):
        return {"trust_changed": 0, "trust_checked": 0}
    from .models import Provider

    checked = Provider.objects.count()
    changed = trust_refresh_all(today)
    with transaction.atomic():
        if _done_today(today):  # another scheduler finished first: its entry stands
            return {"trust_changed": changed, "trust_checked": checked}
        audit_record(
            actor=None,
            action="schedule.trust_daily",
            object_type="schedule",
            object_id=TRUST_MARKER,
            object_label=str(today),
            after={"day": today, "providers": checked, "changed": changed},
        )
    return {"trust_changed": changed, "trust_checked": checked}
