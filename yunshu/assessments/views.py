from __future__ import annotations

import io
import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from openpyxl import Workbook

from yunshu.accounts.models import Role
from yunshu.core.errors import check, is_htmx
from yunshu.core.forms import esc
from yunshu.core.uscc import normalise
from yunshu.enterprises.exports import XLSX
from yunshu.enterprises.models import AccessLogEntry, Enterprise
from yunshu.enterprises.selectors import enterprises_visible_to
from yunshu.enterprises.services import access_record, list_access_record

from . import permissions, selectors, services, wizard
from .definitions import active_rule, engine_questionnaire, engine_rule
from .forms import StartForm
from .models import Assessment, Evidence, Questionnaire, RescoreJob
from .report import result_context
from .templatetags.assessment_tags import level_name


@login_required
def assessment_list(request: HttpRequest) -> HttpResponse:
    qs = selectors.with_current_result(selectors.assessments_visible_to(request.user))
    role = getattr(request.user, "role", None)
    if role not in (Role.CITY, Role.TOWN, Role.ENTERPRISE, Role.PROVIDER, Role.ASSESSOR):
        raise Http404
    rows = [(a, selectors.current_result(a)) for a in qs[:200]]
    list_access_record(
        enterprise_ids=[a.enterprise_id for a, _r in rows],
        by=request.user,
        what=AccessLogEntry.What.ASSESSMENTS,
    )
    source = permissions.SOURCE_FOR_ROLE.get(role)
    startable = None
    if source and role != Role.ASSESSOR:
        startable = enterprises_visible_to(request.user, scope="assessments")
    found = None
    if role == Role.ASSESSOR and request.GET.get("uscc"):
        found = _startable(request.user).filter(uscc=normalise(request.GET["uscc"])).first()
        if found is None:
            messages.error(request, _("改造名单中没有这个统一社会信用代码"))
    return render(
        request,
        "assessments/list.html",
        {
            "rows": rows,
            "start_form": StartForm() if source else None,
            "startable": startable[:50] if startable is not None else None,
            "source": source,
            "found": found,
        },
    )


def _startable(user: Any) -> QuerySet[Enterprise]:
    return enterprises_visible_to(user, scope="assessments")


@login_required
@require_POST
def assessment_start(request: HttpRequest, enterprise_pk: int) -> HttpResponse:
    role = getattr(request.user, "role", None)
    source = permissions.SOURCE_FOR_ROLE.get(role)
    if source is None:
        raise Http404
    enterprise = get_object_or_404(_startable(request.user), pk=enterprise_pk)
    form = StartForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择问卷"))
        return redirect("assessments:list")
    try:
        assessment = services.assessment_start(
            enterprise=enterprise,
            questionnaire=form.cleaned_data["questionnaire"],
            source=source,
            by=request.user,
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("assessments:list")
    return redirect("assessments:detail", pk=assessment.pk)


def _wizard_context(assessment: Assessment, step_key: str | None) -> dict[str, Any]:
    q = engine_questionnaire(assessment.questionnaire)
    steps = wizard.steps(q)
    found = next((s for s in steps if s.key == step_key), None) if step_key else steps[0]
    if found is None:
        raise Http404  # an unknown step must not save an empty form over real answers
    current = found
    index = steps.index(current)
    return {
        "a": assessment,
        "q": q,
        "steps": [(s, wizard.step_done(s, assessment.answers, assessment.scenes)) for s in steps],
        "step": current,
        "prev_step": steps[index - 1] if index > 0 else None,
        "next_step": steps[index + 1] if index + 1 < len(steps) else None,
        "answers": assessment.answers,
        "scene_answers": assessment.scenes,
        "done_count": sum(
            1 for s in steps if wizard.step_done(s, assessment.answers, assessment.scenes)
        ),
    }


@login_required
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = get_object_or_404(selectors.assessments_visible_to(request.user), pk=pk)
    if permissions.can_edit_assessment(request.user, assessment)[0]:
        context = _wizard_context(assessment, request.GET.get("step"))
        return render(request, "assessments/wizard.html", context)
    if assessment.status == Assessment.Status.DRAFT:
        raise Http404  # its author's draft, no longer editable (e.g. the grant ended)
    access_record(
        enterprise_ids=[assessment.enterprise_id],
        by=request.user,
        what=AccessLogEntry.What.ASSESSMENTS,
    )
    context = result_context(assessment)
    context["can_sign"] = permissions.can_sign_assessment(request.user, assessment)[0]
    context["evidence"] = assessment.evidence.all()
    context["can_add_evidence"] = (
        assessment.source == Assessment.Source.OFFICIAL
        and assessment.status == Assessment.Status.SUBMITTED
        and assessment.organisation_id == getattr(request.user, "organisation_id", None)
    )
    context["others"] = (
        selectors.assessments_visible_to(request.user)
        .filter(enterprise=assessment.enterprise, questionnaire__kind=assessment.questionnaire.kind)
        .exclude(pk=assessment.pk)
        .exclude(status=Assessment.Status.DRAFT)
    )
    return render(request, "assessments/result.html", context)


@login_required
@require_POST
def assessment_save_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    assessment = get_object_or_404(selectors.assessments_visible_to(request.user), pk=pk)
    if not permissions.can_edit_assessment(request.user, assessment)[0]:
        raise Http404
    context = _wizard_context(assessment, step)
    answers, scenes = wizard.parse_post(context["step"], request.POST)
    # Save what fits; keep what does not on the screen, with its reason, to be corrected.
    errors = services.answer_errors(context["q"], answers, scenes)
    assessment = services.assessment_save(
        assessment=assessment,
        by=request.user,
        answers={k: v for k, v in answers.items() if k not in errors},
        scenes={k: v for k, v in scenes.items() if k not in errors},
    )
    context = _wizard_context(assessment, step)
    context["answers"] = {**assessment.answers, **{k: answers[k] for k in errors if k in answers}}
    context["scene_answers"] = {
        **assessment.scenes,
        **{k: scenes[k] for k in errors if k in scenes},
    }
    context["errors"] = errors
    context["saved"] = not errors
    if is_htmx(request):
        return render(request, "assessments/_step.html", context | {"oob": True})
    if errors:
        return render(request, "assessments/wizard.html", context)
    going_on = request.POST.get("go") == "next" and context["next_step"] is not None
    target = context["next_step"] if going_on else context["step"]
    if not going_on:
        messages.success(request, _("已保存"))
    return redirect(f"{reverse('assessments:detail', args=[assessment.pk])}?step={target.key}")


@login_required
@require_POST
def assessment_submit(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = get_object_or_404(selectors.assessments_visible_to(request.user), pk=pk)
    try:
        services.assessment_submit(assessment=assessment, by=request.user)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已提交，结果已生成"))
    return redirect("assessments:detail", pk=pk)


@login_required
@require_POST
def assessment_sign(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = get_object_or_404(selectors.assessments_visible_to(request.user), pk=pk)
    try:
        services.assessment_sign(assessment=assessment, by=request.user)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已签发"))
    return redirect("assessments:detail", pk=pk)


@login_required
def assessment_compare(request: HttpRequest, pk: int, other: int) -> HttpResponse:
    visible = selectors.assessments_visible_to(request.user).exclude(status=Assessment.Status.DRAFT)
    before = get_object_or_404(visible, pk=pk)
    after = get_object_or_404(
        visible,
        pk=other,
        enterprise=before.enterprise,
        questionnaire__kind=before.questionnaire.kind,
    )
    if before.created_at > after.created_at:
        before, after = after, before
    access_record(
        enterprise_ids=[before.enterprise_id], by=request.user, what=AccessLogEntry.What.ASSESSMENTS
    )
    from .report import compare_context

    return render(request, "assessments/compare.html", compare_context(before, after))


DISTRIBUTION_ROLES = (Role.CITY, Role.TOWN)


def _distribution_args(request: HttpRequest) -> dict[str, str]:
    def choice(name: str, allowed: Any, default: str) -> str:
        value = request.GET.get(name, "")
        return value if value in allowed else default

    by = choice("by", ("town", "cluster"), "town")
    kind = choice("kind", ("maturity", "security"), "maturity")
    source = choice("source", Assessment.Source.values, "")
    return {"by": by, "kind": kind, "source": source}


@login_required
def distribution(request: HttpRequest) -> HttpResponse:
    if getattr(request.user, "role", None) not in DISTRIBUTION_ROLES:
        raise Http404
    args = _distribution_args(request)
    rows = selectors.level_distribution(request.user, **args)
    buckets = list(selectors.LEVELS if args["kind"] == "maturity" else selectors.GRADES)
    en = (get_language() or "").startswith("en")
    chart = {
        "categories": [r["name_en" if en else "name_zh"] for r in rows],
        "series": [
            {"name": bucket_label(args["kind"], b), "data": [r["counts"][b] for r in rows]}
            for b in buckets
        ],
    }
    totals = {b: sum(r["counts"][b] for r in rows) for b in buckets}
    # The table's rows are built here, figures formatted once (a template loop over some 300
    # cells, and humanize's intcomma per cell, cost more than the cached query).
    name = "name_en" if en else "name_zh"
    rows_html = "".join(
        f"<tr><td>{esc(r[name])}</td>"
        + "".join(f'<td class="text-end">{r["counts"][b]:,}</td>' for b in buckets)
        + f'<td class="text-end fw-bold">{r["total"]:,}</td></tr>\n'
        for r in rows
    )
    return render(
        request,
        "assessments/distribution.html",
        {
            "rows": rows,
            "rows_html": mark_safe(rows_html),  # every name is escaped, figures are numbers
            "buckets": [(b, bucket_label(args["kind"], b)) for b in buckets],
            "totals": totals,
            "total_cells": [f"{totals[b]:,}" for b in buckets],
            "grand_total": f"{sum(totals.values()):,}",
            "chart_json": json.dumps(chart, ensure_ascii=False),
            "sources": Assessment.Source.choices,
            "query": request.GET.urlencode(),
            **args,
        },
    )


def bucket_label(kind: str, bucket: Any) -> str:
    if kind == "maturity":
        return level_name(bucket)  # in the active language (the stored label is Chinese)
    return {"high": _("高风险"), "medium": _("中风险"), "low": _("低风险")}[bucket]


@login_required
def distribution_export(request: HttpRequest) -> HttpResponseBase:
    if getattr(request.user, "role", None) not in DISTRIBUTION_ROLES:
        raise Http404
    args = _distribution_args(request)
    rows = selectors.level_distribution(request.user, **args)
    buckets = list(selectors.LEVELS if args["kind"] == "maturity" else selectors.GRADES)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("分布"))
    ws.append(
        [
            _("镇街") if args["by"] == "town" else _("产业集群"),
            *(bucket_label(args["kind"], b) for b in buckets),
            _("合计"),
        ]
    )
    for r in rows:
        ws.append([r["name_zh"], *(r["counts"][b] for b in buckets), r["total"]])
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    name = f"{args['kind']}-by-{args['by']}.xlsx"
    return FileResponse(buffer, as_attachment=True, filename=name, content_type=XLSX)


@login_required
def rules_page(request: HttpRequest) -> HttpResponse:
    from . import rules

    check(permissions.can_manage_rules(request.user))
    questionnaire = get_object_or_404(
        Questionnaire, key=request.GET.get("q", "maturity-2024"), kind="maturity"
    )
    active = active_rule(questionnaire)
    preview = None
    text = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        text = (
            upload.read().decode("utf-8", errors="replace")
            if upload
            else request.POST.get("text", "")
        )
        try:
            if request.POST.get("confirm") == "1":
                job = rules.rule_activate(questionnaire=questionnaire, text=text, by=request.user)
                messages.success(request, _("新规则已生效，正在重新定级"))
                return redirect("assessments:rescore_job", pk=job.pk)
            preview = rules.rule_preview(questionnaire=questionnaire, text=text, by=request.user)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
    return render(
        request,
        "assessments/rules.html",
        {
            "questionnaire": questionnaire,
            "active": active,
            "active_rule": engine_rule(active) if active else None,
            "history": questionnaire.rules.all()[:20],
            "preview": preview,
            "text": text,
            "jobs": RescoreJob.objects.filter(rule__questionnaire=questionnaire)[:5],
        },
    )


@login_required
def rescore_job(request: HttpRequest, pk: int) -> HttpResponse:

    from . import rules

    check(permissions.can_manage_rules(request.user))
    rules.rescore_jobs_reap_stale()
    job = get_object_or_404(RescoreJob.objects.select_related("rule"), pk=pk)
    if request.method == "POST":
        try:
            job = rules.rescore_resume(job=job, by=request.user)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        return redirect("assessments:rescore_job", pk=job.pk)
    template = (
        "assessments/_rescore_progress.html" if is_htmx(request) else "assessments/rescore_job.html"
    )
    return render(request, template, {"job": job})


@login_required
def assessment_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The 诊断报告 of a submitted or signed assessment, as PDF (always in Chinese)."""
    from .pdf import render_assessment_pdf  # WeasyPrint loads only when a report is asked for

    assessment = get_object_or_404(
        selectors.assessments_visible_to(request.user).exclude(status=Assessment.Status.DRAFT),
        pk=pk,
    )
    access_record(
        enterprise_ids=[assessment.enterprise_id],
        by=request.user,
        what=AccessLogEntry.What.ASSESSMENTS,
    )
    pdf = render_assessment_pdf(assessment)
    day = timezone.localdate(assessment.submitted_at).isoformat()
    filename = f"诊断报告-{assessment.enterprise.name}-{assessment.questionnaire.key}-{day}.pdf"
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, filename) or ""
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def official_page(request: HttpRequest) -> HttpResponse:
    """An assessment body's desk: the template, the bulk upload, and signing."""
    from . import official

    check(permissions.can_upload_official(request.user))
    questionnaire = get_object_or_404(
        Questionnaire, key=request.GET.get("q", "maturity-2024"), kind=Questionnaire.Kind.MATURITY
    )
    report = None
    upload = request.FILES.get("file") if request.method == "POST" else None
    if upload is not None:
        try:
            report = official.official_upload(
                by=request.user, upload=upload, questionnaire=questionnaire
            )
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            if report.created:
                messages.success(
                    request,
                    _("已导入 %(n)d 家企业的评估结果，上传佐证材料后即可签发")
                    % {"n": len(report.created)},
                )
                return redirect("assessments:official")
    pending = selectors.with_current_result(
        selectors.assessments_visible_to(request.user)
        .filter(source=Assessment.Source.OFFICIAL)
        .annotate(evidence_count=Count("evidence"))
        .order_by("status", "-submitted_at")
    )[:200]
    return render(
        request,
        "assessments/official.html",
        {
            "questionnaire": questionnaire,
            "report": report,
            "rows": [(a, selectors.current_result(a)) for a in pending],
        },
    )


@login_required
def official_template(request: HttpRequest) -> HttpResponseBase:
    from . import official

    check(permissions.can_upload_official(request.user))
    questionnaire = get_object_or_404(
        Questionnaire, key=request.GET.get("q", "maturity-2024"), kind=Questionnaire.Kind.MATURITY
    )
    content = official.template_xlsx(questionnaire)
    return FileResponse(
        io.BytesIO(content),
        as_attachment=True,
        filename=f"official-{questionnaire.key}-template.xlsx",
        content_type=XLSX,
    )


@login_required
@require_POST
def official_sign(request: HttpRequest) -> HttpResponse:
    """Sign the chosen official results; those without evidence are named and left."""
    ids = [int(i) for i in request.POST.getlist("ids") if i.isascii() and i.isdigit()]
    chosen = selectors.assessments_visible_to(request.user).filter(pk__in=ids)
    signed, refused = 0, []
    for assessment in chosen:
        try:
            services.assessment_sign(assessment=assessment, by=request.user)
        except (ValidationError, Http404) as exc:
            reason = "；".join(exc.messages) if isinstance(exc, ValidationError) else _("无权签发")
            refused.append(f"{assessment.enterprise.name}：{reason}")
        else:
            signed += 1
    if signed:
        messages.success(request, _("已签发 %(n)d 份评估结果") % {"n": signed})
    for line in refused:
        messages.error(request, line)
    return redirect("assessments:official")


@login_required
@require_POST
def evidence_upload(request: HttpRequest, pk: int) -> HttpResponse:
    from . import official

    assessment = get_object_or_404(selectors.assessments_visible_to(request.user), pk=pk)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("请选择文件"))
    else:
        try:
            official.evidence_add(assessment=assessment, by=request.user, upload=upload)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, _("已上传佐证材料"))
    return redirect("assessments:detail", pk=pk)


@login_required
def evidence_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    evidence = get_object_or_404(
        Evidence.objects.filter(assessment__in=selectors.assessments_visible_to(request.user)),
        pk=pk,
    )
    access_record(
        enterprise_ids=[evidence.assessment.enterprise_id],
        by=request.user,
        what=AccessLogEntry.What.ASSESSMENTS,
    )
    return FileResponse(
        evidence.file.open("rb"), as_attachment=True, filename=evidence.original_name
    )
