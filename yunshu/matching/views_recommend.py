"""为我推荐 (an enterprise's shortlist, also opened by its officers) and the city's batch runs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yunshu.core.errors import check, is_htmx
from yunshu.core.forms import StyledForm
from yunshu.enterprises.models import AccessLogEntry
from yunshu.enterprises.services import access_record

from . import recommend, scoring, supply
from .models import MatchRun
from .permissions_recommend import can_run_matching, can_share_from_recommendations

PART_COLOURS = {
    "coverage": "bg-blue",
    "fit": "bg-green",
    "price": "bg-yellow",
    "trust": "bg-purple",
    "outcomes": "bg-cyan",
    "local": "bg-orange",
    "ratings": "bg-pink",
}


def _url(names: str | tuple[str, ...], args: list[Any], fallback: str) -> str:
    """Another area's page, by name once it exists, else its agreed path."""
    for name in (names,) if isinstance(names, str) else names:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return fallback


def _top(request: HttpRequest) -> int:
    try:
        top = int(request.GET.get("top", scoring.DEFAULT_TOP))
    except ValueError:
        top = scoring.DEFAULT_TOP
    return max(1, min(recommend.TOP_MAX, top))


def _maturity_key() -> str | None:
    """The maturity questionnaire a self-assessment starts with (the one levels come from)."""
    q = supply.active_maturity_questionnaire()
    return q.key if q is not None else None


def _render_recommendations(request: HttpRequest, pk: int | None) -> HttpResponse:
    enterprise = recommend.recommendation_enterprise(request.user, pk)
    result = recommend.recommendations_live(enterprise=enterprise, top=_top(request))
    # An officer looking at a firm's shortlist reads its levels (its assessment) or, for a
    # firm that has none, its profile (cluster, industry, size, town): the firm sees which.
    what = AccessLogEntry.What.ASSESSMENTS if result.assessed else AccessLogEntry.What.PROFILE
    access_record(enterprise_ids=[enterprise.pk], by=request.user, what=what)
    share_url = _url("matching:share", [], "/matching/share/")
    cards = [
        {
            "item": item,
            "segments": [s | {"colour": PART_COLOURS[s["key"]]} for s in item.segments()],
            "words": [
                {
                    "key": w.key,
                    "label": w.label,
                    "points": w.points,
                    "lines": w.lines,
                    "colour": PART_COLOURS[w.key],
                }
                for w in item.words
            ],
            "product_url": _url(
                ("catalogue:detail", "catalogue:product_detail"),
                [item.product_id],
                f"/catalogue/{item.product_id}/",
            ),
            "share_url": f"{share_url}?provider={item.provider_id}",
        }
        for item in result.items
    ]
    return render(
        request,
        "matching/recommend/recommendations.html",
        {
            "result": result,
            "enterprise": enterprise,
            "cards": cards,
            "can_share": can_share_from_recommendations(request.user, enterprise)[0],
            "own": pk is None,
            "start_url": _url(
                "assessments:start", [enterprise.pk], f"/assessments/start/{enterprise.pk}/"
            ),
            "maturity_key": _maturity_key(),
            "part_legend": [
                {
                    "key": k,
                    "label": scoring.PART_LABELS[k],
                    "max": scoring.PART_MAX[k],
                    "colour": PART_COLOURS[k],
                }
                for k in scoring.PART_KEYS
            ],
            "budgets": [
                (scoring.SIZE_NAMES[k], scoring.yuan(result.budgets[k]))
                for k in scoring.SIZE_CLASSES
            ],
        },
    )


@login_required
def recommendations(request: HttpRequest) -> HttpResponse:
    if recommend.unlinked_enterprise_account(request.user):
        org = request.user.organisation  # type: ignore[union-attr]
        return render(
            request,
            "matching/recommend/unlinked.html",
            {"claim": getattr(org, "claim", None)},
        )
    return _render_recommendations(request, None)


@login_required
def recommendations_for(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_recommendations(request, pk)


class MatchRunForm(StyledForm, forms.Form):
    top_n = forms.IntegerField(
        label=gettext_lazy("每家企业推荐条数"),
        min_value=1,
        max_value=recommend.TOP_MAX,
        initial=scoring.DEFAULT_TOP,
    )


def _run_context(run: MatchRun) -> dict[str, Any]:
    if run.status == MatchRun.Status.SUCCEEDED:
        percent = 100
    elif run.enterprises_total:
        percent = min(99, run.enterprises_done * 100 // run.enterprises_total)
    else:
        percent = 0
    return {"run": run, "percent": percent, "active": run.status in ("queued", "running")}


@login_required
def runs(request: HttpRequest) -> HttpResponse:
    check(can_run_matching(request.user))
    form = MatchRunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = recommend.match_run_start(by=request.user, top_n=form.cleaned_data["top_n"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if run.created_by_id != request.user.pk or run.status != MatchRun.Status.QUEUED:
                messages.info(request, _("已有批量匹配在进行中，未重复启动"))
            return redirect("matching:run", pk=run.pk)
    recommend.match_runs_reap_stale()
    history = recommend.match_runs_visible_to(request.user)[:30]
    return render(
        request,
        "matching/recommend/runs.html",
        {"form": form, "history": history, "current": recommend.current_match_run()},
    )


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    recommend.match_runs_reap_stale()
    run = get_object_or_404(recommend.match_runs_visible_to(request.user), pk=pk)
    template = (
        "matching/recommend/_run_progress.html"
        if is_htmx(request)
        else "matching/recommend/run.html"
    )
    return render(request, template, _run_context(run))
