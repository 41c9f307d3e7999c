"""Consent screens: share with a provider, the provider's inbox, proposals and ratings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yunshu.accounts.models import Role
from yunshu.assessments.forms import StartForm
from yunshu.core.errors import check, is_htmx
from yunshu.enterprises import permissions as enterprise_permissions
from yunshu.enterprises.models import AccessLogEntry
from yunshu.enterprises.selectors import access_log_for, enterprises_visible_to
from yunshu.enterprises.services import access_record, grant_revoke
from yunshu.providers.models import Provider, VettingState
from yunshu.providers.selectors import provider_for

from . import consent, proposals, ratings, supply
from .forms_consent import (
    DecisionForm,
    DiagnosisAssignForm,
    ProposalForm,
    RatingForm,
    ShareForm,
)
from .models import Proposal

PAGE_SIZE = 25


def _add_errors(
    form: forms.Form, exc: ValidationError, rename: dict[str, str] | None = None
) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            name = (rename or {}).get(name, name)
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# -- the enterprise shares ---------------------------------------------------------------------


@login_required
def share(request: HttpRequest) -> HttpResponse:
    check(consent.can_share(request.user))
    enterprise = consent.own_enterprise(request.user)
    if enterprise is None:
        raise Http404
    pk = _int(request.POST.get("provider") or request.GET.get("provider"))
    selected = (
        Provider.objects.filter(pk=pk, vetting_state=VettingState.APPROVED).first() if pk else None
    )
    form = ShareForm(request.POST or None, selected=selected)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            consent.share_create(
                enterprise=enterprise,
                provider=data["provider"],
                by=request.user,
                expires_on=data["expires_on"],
                scope_profile=data["scope_profile"],
                scope_assessments=data["scope_assessments"],
                purpose=data["purpose"],
            )
        except ValidationError as exc:
            _add_errors(form, exc, {"expires_at": "expires_on"})
        else:
            messages.success(
                request,
                _("已授权 %(p)s 查看，有效期至 %(d)s")
                % {"p": data["provider"].name, "d": data["expires_on"]},
            )
            return redirect("matching:share")
    now = timezone.now()
    grants = [(g, consent.grant_status(g, now)) for g in consent.shares_of(request.user)[:200]]
    log = access_log_for(request.user, enterprise)
    return render(
        request,
        "matching/consent/share.html",
        {
            "form": form,
            "enterprise": enterprise,
            "selected": selected,
            "grants": grants,
            "access_count": log.count(),
            "recent_access": log[:5],
        },
    )


@login_required
def share_providers(request: HttpRequest) -> HttpResponse:
    """The provider select's options for a search (htmx)."""
    check(consent.can_share(request.user))
    found = consent.share_providers(q=request.GET.get("q", "")[:100])
    return render(request, "matching/consent/_provider_options.html", {"providers": found})


@login_required
@require_POST
def share_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    grant = get_object_or_404(consent.shares_of(request.user), pk=pk)
    grant_revoke(grant=grant, by=request.user)
    messages.success(request, _("已撤销对 %(p)s 的授权") % {"p": grant.provider})
    return redirect("matching:share")


@login_required
def access_log(request: HttpRequest) -> HttpResponse:
    """谁看过我的数据: every view of the enterprise's data by someone outside it."""
    check(consent.can_share(request.user))
    enterprise = consent.own_enterprise(request.user)
    if enterprise is None:
        raise Http404
    entries = access_log_for(request.user, enterprise).select_related("viewer_organisation")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(
        request, "matching/consent/access_log.html", {"page": page, "enterprise": enterprise}
    )


# -- the city assigns a diagnosis ---------------------------------------------------------------


@login_required
def diagnosis_assign(request: HttpRequest, enterprise_pk: int) -> HttpResponse:
    """The city picks a lead provider from the pool to diagnose an enterprise on the
    transformation list; the assignment shows in that provider's inbox."""
    enterprise = get_object_or_404(enterprises_visible_to(request.user), pk=enterprise_pk)
    check(enterprise_permissions.can_assign_diagnosis(request.user, enterprise))
    form = DiagnosisAssignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            grant = consent.diagnosis_assignment_create(
                enterprise=enterprise,
                provider=data["provider"],
                by=request.user,
                expires_on=data["expires_on"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _("已指派 %(p)s 为 %(e)s 做诊断，有效期至 %(d)s；对方已收到通知")
                % {
                    "p": data["provider"].name,
                    "e": enterprise.name,
                    "d": timezone.localtime(grant.expires_at).date(),
                },
            )
            return redirect("matching:diagnosis_assign", enterprise_pk=enterprise.pk)
    now = timezone.now()
    assignments = [
        (g, consent.grant_status(g, now)) for g in consent.diagnosis_assignments_of(enterprise)
    ]
    return render(
        request,
        "matching/consent/diagnosis_assign.html",
        {"form": form, "e": enterprise, "assignments": assignments},
    )


@login_required
@require_POST
def diagnosis_revoke(request: HttpRequest, enterprise_pk: int, pk: int) -> HttpResponse:
    enterprise = get_object_or_404(enterprises_visible_to(request.user), pk=enterprise_pk)
    check(enterprise_permissions.can_assign_diagnosis(request.user, enterprise))
    grant = get_object_or_404(consent.diagnosis_assignments_of(enterprise), pk=pk)
    grant_revoke(grant=grant, by=request.user)
    messages.success(request, _("已撤销对 %(p)s 的诊断指派") % {"p": grant.provider})
    return redirect("matching:diagnosis_assign", enterprise_pk=enterprise.pk)


# -- the provider's inbox ----------------------------------------------------------------------


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    check(consent.can_use_inbox(request.user))
    user = request.user
    tab = request.GET.get("tab", "grants")
    if tab not in consent.INBOX_TABS:
        tab = "grants"
    context: dict[str, Any] = {"tab": tab, "counts": consent.inbox_counts(user)}
    number = request.GET.get("page")
    if tab == "grants":
        context["page"] = Paginator(consent.inbox_grants(user), PAGE_SIZE).get_page(number)
    elif tab == "demand":
        demand = Paginator(consent.inbox_demand(user), PAGE_SIZE).get_page(number)
        rows = consent.demand_rows(user, list(demand.object_list))
        # Gap scenes, and recommendations ranked by the enterprise's levels, come from its
        # assessment: showing them is a logged view.
        access_record(
            enterprise_ids=[r.enterprise.pk for r in rows if _reads_assessment(r)],
            by=user,
            what=AccessLogEntry.What.ASSESSMENTS,
        )
        context |= {
            "page": demand,
            "rows": rows,
            "can_propose": _provider_in_pool(user),
            "target_label": supply.target_label(),
        }
    elif tab == "events":
        context["page"] = Paginator(consent.inbox_invitations(user), PAGE_SIZE).get_page(number)
    else:
        page = Paginator(consent.inbox_assignments(user), PAGE_SIZE).get_page(number)
        diagnoses = consent.diagnoses_by_enterprise(
            user, [g.enterprise_id for g in page.object_list]
        )
        context |= {
            "page": page,
            "rows": [(g, diagnoses.get(g.enterprise_id, [])) for g in page.object_list],
            "start_form": _start_form(),
        }
    template = "matching/consent/_inbox.html" if is_htmx(request) else "matching/consent/inbox.html"
    return render(request, template, context)


def _start_form() -> StartForm:
    """The assessments app's start form, rendered once per row: choices read once, no ids."""
    form = StartForm(auto_id=False)
    field = form.fields["questionnaire"]
    field.widget.choices = list(field.choices)  # type: ignore[attr-defined]
    field.widget.attrs["aria-label"] = _("问卷")
    return form


def _reads_assessment(row: consent.DemandRow) -> bool:
    """The row shows what the enterprise's assessment says (its gaps, or products ranked by
    its assessed levels)."""
    return row.assessed or row.recommended_from_assessment


def _provider_in_pool(user: Any) -> bool:
    provider = provider_for(user)
    return provider is not None and provider.vetting_state == VettingState.APPROVED


# -- proposals ---------------------------------------------------------------------------------

PROPOSAL_ROLES = (Role.ENTERPRISE, Role.PROVIDER, Role.CITY)
STATE_FILTERS = {
    "open": (Proposal.State.SENT,),
    "accepted": (Proposal.State.ACCEPTED,),
    "delivered": (Proposal.State.DELIVERED,),
    "closed": (Proposal.State.DECLINED, Proposal.State.WITHDRAWN),
}


@login_required
def proposal_list(request: HttpRequest) -> HttpResponse:
    if getattr(request.user, "role", None) not in PROPOSAL_ROLES and not request.user.is_superuser:
        raise Http404
    qs = proposals.proposals_visible_to(request.user)
    state = request.GET.get("state", "")
    if state in STATE_FILTERS:
        qs = qs.filter(state__in=STATE_FILTERS[state])
    else:
        state = ""
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "matching/consent/proposal_list.html", {"page": page, "state": state})


@login_required
def proposal_new(request: HttpRequest, enterprise_pk: int) -> HttpResponse:
    check(consent.can_use_inbox(request.user))
    enterprise = get_object_or_404(
        enterprises_visible_to(request.user, scope="profile"), pk=enterprise_pk
    )
    check(proposals.can_send_proposal(request.user, enterprise))
    form = ProposalForm(
        request.POST or None, products=proposals.products_for_proposal(request.user)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            proposal = proposals.proposal_send(
                enterprise=enterprise,
                by=request.user,
                title=data["title"],
                body=data["body"],
                price_yuan=data["price_yuan"],
                weeks=data["weeks"],
                product=data["product"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("方案已发送，等待企业答复"))
            return redirect("matching:proposal", pk=proposal.pk)
    row = consent.demand_rows(request.user, [enterprise])[0]
    access_record(enterprise_ids=[enterprise.pk], by=request.user, what=AccessLogEntry.What.PROFILE)
    if _reads_assessment(row):
        access_record(
            enterprise_ids=[enterprise.pk], by=request.user, what=AccessLogEntry.What.ASSESSMENTS
        )
    return render(
        request,
        "matching/consent/proposal_form.html",
        {
            "form": form,
            "e": enterprise,
            "row": row,
            "in_pool": _provider_in_pool(request.user),
            "target_label": supply.target_label(),
        },
    )


@login_required
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(proposals.proposals_visible_to(request.user), pk=pk)
    rating = getattr(proposal, "rating", None)
    can_rate = rating is None and ratings.can_rate_proposal(request.user, proposal)[0]
    return render(
        request,
        "matching/consent/proposal_detail.html",
        {
            "p": proposal,
            "party": proposals.party_of(request.user, proposal),
            "actions": [
                (a, proposals.ACTION_LABELS[a], proposals.ACTION_CONFIRMATIONS.get(a, ""))
                for a in proposals.actions_for(request.user, proposal)
            ],
            "rating": rating,
            "rating_form": RatingForm() if can_rate else None,
            "stars_range": ratings.STARS,
        },
    )


@login_required
@require_POST
def proposal_transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    proposal = get_object_or_404(proposals.proposals_visible_to(request.user), pk=pk)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        proposals.proposal_transition(proposal=proposal, action=action, by=request.user, note=note)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已%(a)s") % {"a": proposals.ACTION_LABELS.get(action, "")})
    return redirect("matching:proposal", pk=pk)


# -- ratings -----------------------------------------------------------------------------------


@login_required
@require_POST
def rate(request: HttpRequest, proposal_pk: int) -> HttpResponse:
    proposal = get_object_or_404(proposals.proposals_visible_to(request.user), pk=proposal_pk)
    form = RatingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择 1 到 5 星"))
        return redirect("matching:proposal", pk=proposal_pk)
    try:
        ratings.rating_create(
            proposal=proposal,
            by=request.user,
            stars=form.cleaned_data["stars"],
            comment=form.cleaned_data["comment"],
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("感谢您的评价"))
    return redirect("matching:proposal", pk=proposal_pk)


@login_required
def rating_list(request: HttpRequest) -> HttpResponse:
    if getattr(request.user, "role", None) not in PROPOSAL_ROLES and not request.user.is_superuser:
        raise Http404
    page = Paginator(ratings.ratings_visible_to(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "matching/consent/ratings.html",
        {"page": page, "provider": provider_for(request.user), "stars_range": ratings.STARS},
    )
