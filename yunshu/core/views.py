from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from yunshu.accounts.models import Role
from yunshu.enterprises import selectors as enterprise_selectors

from .notifications import notifications_for, notifications_mark_read
from .size_class import SizeClass


def _chart_by_cluster(user: Any) -> str:
    en = (get_language() or "").startswith("en")
    rows = (
        enterprise_selectors.enterprises_visible_to(user)
        .values("cluster__name_zh", "cluster__name_en")
        .annotate(n=Count("id"))
        .order_by("n")
    )
    return json.dumps(
        {
            "names": [r["cluster__name_en" if en else "cluster__name_zh"] or "—" for r in rows],
            "values": [r["n"] for r in rows],
        },
        ensure_ascii=False,
    )


def _by_size(qs: Any) -> list[dict[str, Any]]:
    counts = dict(qs.values_list("size_class").annotate(n=Count("id")).order_by())
    return [
        {"label": size.label, "n": counts[size.value]} for size in SizeClass if size.value in counts
    ]


def _waiting(user: Any, role: str | None) -> list[dict[str, Any]]:
    """What waits for this role elsewhere in the platform: (label, count, link) cards."""
    from django.urls import reverse

    from yunshu.matching import consent, proposals
    from yunshu.providers import complaints, vetting
    from yunshu.providers.models import Complaint, VettingState

    cards: list[dict[str, Any]] = []

    def card(label: Any, count: int, url: str) -> None:
        cards.append({"label": label, "count": count, "url": url})

    open_complaints = (
        complaints.complaints_visible_to(user)
        .filter(state__in=[Complaint.State.SUBMITTED, Complaint.State.ESCALATED])
        .count()
    )
    if role == Role.CITY:
        card(
            _("待审核入库申请"),
            vetting.vetting_queue(user)
            .filter(vetting_state__in=[VettingState.SUBMITTED, VettingState.UNDER_REVIEW])
            .count(),
            reverse("providers:vetting_queue"),
        )
        card(
            _("待审核证书"),
            vetting.certificates_pending_review(user).count(),
            reverse("providers:certificate_queue"),
        )
        card(_("待处理投诉"), open_complaints, reverse("providers:complaint_list"))
    elif role == Role.PROVIDER:
        counts = consent.inbox_counts(user)
        card(_("匹配到的需求"), counts["demand"], reverse("matching:inbox") + "?tab=demand")
        card(_("诊断指派"), counts["assignments"], reverse("matching:inbox") + "?tab=assignments")
        card(_("对接会邀请"), counts["events"], reverse("matching:inbox") + "?tab=events")
        card(_("待答复投诉"), open_complaints, reverse("providers:complaint_list"))
    elif role == Role.ENTERPRISE:
        card(
            _("待答复的服务方案"),
            proposals.proposals_visible_to(user).filter(state="sent").count(),
            reverse("matching:proposals"),
        )
    return cards


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role lands on what waits for it."""
    user = request.user
    role = getattr(user, "role", None)
    context: dict[str, Any] = {"role": role, "Role": Role}
    now = timezone.now()
    if role in (Role.CITY, Role.TOWN):
        visible = enterprise_selectors.enterprises_visible_to(user)
        context |= {
            "enterprise_count": visible.count(),
            "claims_pending": enterprise_selectors.claims_reviewable_by(user)
            .filter(status="pending")
            .count(),
            "unverified": enterprise_selectors.enterprises_pending_verification(user).count(),
            "by_size": _by_size(visible),
            "chart_by_cluster": _chart_by_cluster(user),
        }
        if role == Role.CITY:
            context["jobs"] = enterprise_selectors.import_jobs_visible_to(user)[:5]
    elif role == Role.ENTERPRISE:
        org = user.organisation  # type: ignore[union-attr]
        enterprise = enterprise_selectors.enterprises_visible_to(user).first()
        context |= {
            "enterprise": enterprise,
            "claim": getattr(org, "claim", None) if org and org.enterprise_id is None else None,
            "grants": enterprise_selectors.grants_visible_to(user).filter(
                revoked_at=None, expires_at__gt=now
            )[:10],
            "access_log": enterprise_selectors.access_log_for(user, enterprise)[:10]
            if enterprise
            else [],
        }
    elif role == Role.PROVIDER:
        context["grants"] = enterprise_selectors.grants_visible_to(user).filter(
            revoked_at=None, expires_at__gt=now
        )[:20]
    context["waiting"] = _waiting(user, role)
    if role == Role.PROVIDER:
        from yunshu.providers.vetting import visibility_notice_for

        context["visibility_notice"] = visibility_notice_for(user)
    context["notifications"] = notifications_for(user)[:5]
    return render(request, "core/home.html", context)


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        notifications_mark_read(user=request.user)
    items = notifications_for(request.user)[:100]
    return render(request, "core/notifications.html", {"items": items})
