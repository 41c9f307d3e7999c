"""Annual review (年度复核) of a provider in the pool.

The city opens a review for a provider and year and sees a computed checklist; its verdict
(pass / conditional / fail) is stored with the checklist as it stood, audited and notified.
One review per provider per year (a unique constraint makes a double click safe). A pass
needs every check passed or a recorded reason; a conditional pass its conditions and a
deadline; a fail suspends the provider through the vetting transition table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yunshu.core.audit import audit_record, snapshot
from yunshu.core.errors import check
from yunshu.core.notifications import notify

from . import permissions_supervision as perms
from .complaints import OPEN_STATES
from .models import AnnualReview, Certificate, CertificateType, Complaint, Provider, VettingState
from .selectors import provider_for
from .supervision import provider_people

DEFAULT_MIN_SATISFIED = 6  # Singapore PSG's annual review asks for 6; not a Dongguan rule
SATISFIED_STARS = 4
MIN_DELIVERED = 1  # this project's assumption
FIRST_YEAR = 2020
# Names the vetting helper may give its provider page; the first that resolves is linked.
VETTING_URL_NAMES = ("providers:vetting_detail", "providers:provider_detail", "providers:detail")


class AlreadyReviewed(ValidationError):
    def __init__(self, review: AnnualReview) -> None:
        super().__init__({"year": _("该服务商 %(year)s 年度已复核") % {"year": review.year}})
        self.review = review


def min_satisfied() -> int:
    return int(getattr(settings, "PROVIDER_REVIEW_MIN_SATISFIED", DEFAULT_MIN_SATISFIED))


@dataclass(frozen=True)
class CheckItem:
    key: str  # satisfied_customers | open_complaints | mandatory_certificates | delivered
    passed: bool
    figure: int
    required: int
    missing: list[str] = field(default_factory=list)


def _year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return (
        dt.datetime(year, 1, 1, tzinfo=tz),
        dt.datetime(year + 1, 1, 1, tzinfo=tz),
    )


def review_checklist(
    provider: Provider, year: int, *, today: dt.date | None = None
) -> list[CheckItem]:
    """The four checks as they stand now (complaints and certificates) and in the year."""
    from yunshu.matching.models import Proposal, Rating

    today = today or timezone.localdate()
    start, end = _year_bounds(year)
    needed = min_satisfied()
    satisfied = (
        Rating.objects.filter(
            provider=provider,
            stars__gte=SATISFIED_STARS,
            created_at__gte=start,
            created_at__lt=end,
        )
        .values("enterprise_id")
        .distinct()
        .count()
    )
    open_complaints = Complaint.objects.filter(provider=provider, state__in=OPEN_STATES).count()
    mandatory = list(CertificateType.objects.filter(mandatory=True))
    valid_types = set(
        Certificate.objects.filter(
            provider=provider,
            status=Certificate.Status.APPROVED,
            expires_on__gte=today,
            type__in=mandatory,
        ).values_list("type_id", flat=True)
    )
    missing = [t.name_zh for t in mandatory if t.pk not in valid_types]
    delivered = Proposal.objects.filter(
        provider=provider,
        state=Proposal.State.DELIVERED,
        delivered_at__gte=start,
        delivered_at__lt=end,
    ).count()
    return [
        CheckItem("satisfied_customers", satisfied >= needed, satisfied, needed),
        CheckItem("open_complaints", open_complaints == 0, open_complaints, 0),
        CheckItem(
            "mandatory_certificates",
            not missing,
            len(mandatory) - len(missing),
            len(mandatory),
            missing,
        ),
        CheckItem("delivered", delivered >= MIN_DELIVERED, delivered, MIN_DELIVERED),
    ]


CHECK_LABELS: dict[str, Any] = {
    "satisfied_customers": gettext_lazy("满意客户"),
    "open_complaints": gettext_lazy("未解决的投诉"),
    "mandatory_certificates": gettext_lazy("必备证书有效"),
    "delivered": gettext_lazy("交付成效"),
}


def checklist_rows(
    items: list[dict[str, Any]] | list[CheckItem], year: int
) -> list[dict[str, Any]]:
    """Each item with its label, requirement and figure in the reader's language."""
    rows = []
    for raw in items:
        item = asdict(raw) if isinstance(raw, CheckItem) else dict(raw)
        key, figure, required = item["key"], item["figure"], item["required"]
        label, requirement, shown, note = "", "", str(figure), ""
        if key == "satisfied_customers":
            label = _("满意客户")
            requirement = _("%(year)s 年内评分 ≥ %(stars)s 星的不同企业至少 %(n)s 家") % {
                "year": year,
                "stars": SATISFIED_STARS,
                "n": required,
            }
            shown = _("%(n)s 家企业") % {"n": figure}
            note = _(
                "参照新加坡 PSG 预审供应商年度复核的做法（至少 6 家满意客户），"
                "不是东莞的规定；人数可配置"
            )
        elif key == "open_complaints":
            label = _("未解决的投诉")
            requirement = _("没有未解决的投诉")
            shown = _("%(n)s 件") % {"n": figure}
        elif key == "mandatory_certificates":
            label = _("必备证书有效")
            requirement = _("每种必备证书都有已认可且未过期的证书")
            shown = _("%(n)s / %(total)s 种有效") % {"n": figure, "total": required}
            if item.get("missing"):
                note = _("缺少或已过期：%(names)s") % {"names": "、".join(item["missing"])}
        elif key == "delivered":
            label = _("交付成效")
            requirement = _("%(year)s 年内至少 %(n)s 个服务方案通过验收") % {
                "year": year,
                "n": required,
            }
            shown = _("%(n)s 个") % {"n": figure}
            note = _("改造项目成效（等级提升）待专项资金项目功能上线后一并纳入")
        rows.append(
            {**item, "label": label, "requirement": requirement, "shown": shown, "note": note}
        )
    return rows


def vetting_url(provider: Provider) -> str:
    for name in VETTING_URL_NAMES:
        try:
            return reverse(name, args=[provider.pk])
        except NoReverseMatch:
            continue
    return ""


# -- selectors --------------------------------------------------------------------------------


def reviews_visible_to(user: Any) -> QuerySet[AnnualReview]:
    qs = AnnualReview.objects.select_related("provider", "reviewed_by")
    if perms.is_city(user):
        return qs
    mine = provider_for(user)
    return qs.filter(provider=mine) if mine is not None else qs.none()


def providers_due_for_review(user: Any, year: int) -> QuerySet[Provider]:
    """Providers in the pool (or suspended) without a review for the year; the city only."""
    if not perms.is_city(user):
        return Provider.objects.none()
    return (
        Provider.objects.filter(vetting_state__in=(VettingState.APPROVED, VettingState.SUSPENDED))
        .exclude(reviews__year=year)
        .order_by("name", "id")
    )


# -- the service ------------------------------------------------------------------------------


def _check_year(year: int) -> None:
    this_year = timezone.localdate().year
    if not (FIRST_YEAR <= year <= this_year):
        raise ValidationError(
            {"year": _("年度应在 %(a)s 到 %(b)s 之间") % {"a": FIRST_YEAR, "b": this_year}}
        )


MAX_DEADLINE_DAYS = 366
FAIL_REASON = gettext_lazy("年度复核未通过")


def verdict_problems(
    *,
    verdict: str,
    items: list[CheckItem],
    conditions: str,
    deadline: dt.date | None,
    override_reason: str,
    today: dt.date,
) -> dict[str, str]:
    """What a verdict still needs (pure): a pass against a failed check needs a recorded
    reason; a conditional pass needs its conditions and a deadline to meet them by."""
    problems: dict[str, str] = {}
    if verdict not in AnnualReview.Verdict.values:
        return {"verdict": _("请选择复核结论")}
    passed = all(i.passed for i in items)
    if verdict == AnnualReview.Verdict.PASS and not passed and not override_reason:
        failed = "、".join(str(CHECK_LABELS.get(i.key, i.key)) for i in items if not i.passed)
        problems["override_reason"] = _(
            "清单有未达标项（%(items)s）：要判定通过，请写明理由（将记录在复核结论中）"
        ) % {"items": failed}
    if verdict == AnnualReview.Verdict.CONDITIONAL:
        if not conditions:
            problems["conditions"] = _("有条件通过时必须写明整改条件")
        if deadline is None:
            problems["deadline"] = _("有条件通过时必须定下整改期限")
        elif deadline <= today:
            problems["deadline"] = _("整改期限应晚于今天")
        elif deadline > today + dt.timedelta(days=MAX_DEADLINE_DAYS):
            problems["deadline"] = _("整改期限不能超过一年")
    return problems


@transaction.atomic
def review_decide(
    *,
    provider: Provider,
    year: int,
    verdict: str,
    conditions: str = "",
    deadline: dt.date | None = None,
    override_reason: str = "",
    by: Any,
) -> AnnualReview:
    """Record the verdict with the checklist as it stands now.

    pass: every check passed, or an override reason is recorded; conditional: conditions
    and a deadline; fail: the provider is suspended through the vetting transition table
    (reason 年度复核未通过), in the same transaction."""
    from .vetting import provider_transition

    check(perms.can_review_provider(by, provider))
    _check_year(year)
    conditions, override_reason = conditions.strip(), override_reason.strip()
    existing = AnnualReview.objects.filter(provider=provider, year=year).first()
    if existing is not None:
        raise AlreadyReviewed(existing)
    checklist = review_checklist(provider, year)
    problems = verdict_problems(
        verdict=verdict,
        items=checklist,
        conditions=conditions,
        deadline=deadline,
        override_reason=override_reason,
        today=timezone.localdate(),
    )
    if problems:
        raise ValidationError(problems)
    review = AnnualReview(
        provider=provider,
        year=year,
        checklist=[asdict(i) for i in checklist],
        verdict=verdict,
        conditions=conditions,
        deadline=deadline if verdict == AnnualReview.Verdict.CONDITIONAL else None,
        override_reason=override_reason,
        reviewed_by=by,
    )
    try:
        with transaction.atomic():
            review.save()
    except IntegrityError:
        # Two officers (or one double click) at the same moment: the first one stands.
        raise AlreadyReviewed(AnnualReview.objects.get(provider=provider, year=year)) from None
    state = (
        Provider.objects.select_for_update().filter(pk=provider.pk).values_list("vetting_state")
    )[0][0]
    if verdict == AnnualReview.Verdict.FAIL and state == VettingState.APPROVED:
        provider_transition(
            provider=provider,
            action="suspend",
            by=by,
            reason=str(FAIL_REASON),
            expected_state=VettingState.APPROVED,
        )
        review.provider_suspended = True
        review.save(update_fields=["provider_suspended"])
    audit_record(
        actor=by,
        action="review.decide",
        obj=review,
        after=snapshot(
            review,
            (
                "provider",
                "year",
                "verdict",
                "conditions",
                "deadline",
                "override_reason",
                "provider_suspended",
                "checklist",
            ),
        ),
    )
    body = conditions
    if review.deadline:
        body += "\n" + _("整改期限：%(d)s") % {"d": review.deadline.isoformat()}
    if review.provider_suspended:
        body += "\n" + _("入库资格已据此暂停，整改后请联系市工信局。")
    notify(
        recipients=provider_people(provider.pk),
        subject=_("%(year)s 年度复核结论：%(verdict)s")
        % {"year": year, "verdict": review.get_verdict_display()},
        body=body.strip(),
        url=reverse("providers:review_detail", args=[review.pk]),
    )
    return review
