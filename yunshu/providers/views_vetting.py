"""Pages of provider registration and vetting: thin, each calls one service or selector."""

from __future__ import annotations

import io
import mimetypes
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yunshu.accounts.backends import SIGN_IN_BACKEND
from yunshu.accounts.models import Role
from yunshu.core.errors import check, is_htmx

from . import permissions, vetting
from .exports_vetting import XLSX, write_vetting_xlsx
from .forms_vetting import (
    CertificateForm,
    CertificateReviewForm,
    DocumentUploadForm,
    LeadForm,
    ProviderApplyForm,
    ProviderProfileForm,
    ProviderRegisterForm,
    QueueFilterForm,
    TransitionForm,
    level_choices,
)
from .models import CertificateType, Provider, VettingState
from .selectors import provider_for


def _add_errors(form: Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _own_provider(request: HttpRequest) -> Provider:
    provider = provider_for(request.user)
    if provider is None:
        raise Http404
    return provider


def _file_response(field: Any, name: str) -> FileResponse:
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)


# -- provider side ----------------------------------------------------------------------------


def provider_register(request: HttpRequest) -> HttpResponse:
    """Public sign-up of a new provider: organisation, administrator and pool application."""
    if request.user.is_authenticated:
        if getattr(request.user, "role", None) == Role.PROVIDER:
            return redirect("providers:application")
        return redirect("home")
    form = ProviderRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user, _provider = vetting.provider_register(
                uscc=data["uscc"],
                username=data["username"],
                email=data["email"],
                password=data["password"],
                **form.profile(),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            login(request, user, backend=SIGN_IN_BACKEND)
            messages.success(request, _("注册成功，入库申请已提交市工信局审核"))
            return redirect("providers:application")
    return render(request, "providers/vetting/register.html", {"form": form})


@login_required
def provider_apply(request: HttpRequest) -> HttpResponse:
    """A provider organisation without a pool record applies to join the pool."""
    if getattr(request.user, "role", None) != Role.PROVIDER:
        raise Http404
    if provider_for(request.user) is not None:
        return redirect("providers:application")
    allowed, reason = permissions.can_apply_to_pool(request.user)
    org = request.user.organisation  # type: ignore[union-attr]
    form = ProviderApplyForm(request.POST or None, organisation=org)
    if request.method == "POST" and allowed and form.is_valid():
        try:
            vetting.provider_apply(
                by=request.user, uscc=form.cleaned_data["uscc"], **form.profile()
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("入库申请已提交市工信局审核"))
            return redirect("providers:application")
    return render(
        request,
        "providers/vetting/apply.html",
        {"form": form, "allowed": allowed, "reason": reason},
    )


@login_required
def application(request: HttpRequest) -> HttpResponse:
    """“我的入库申请”: state, history, reasons, documents, certificates and what to do next."""
    if getattr(request.user, "role", None) != Role.PROVIDER:
        raise Http404
    provider = provider_for(request.user)
    if provider is None:
        return redirect("providers:apply")
    return render(
        request,
        "providers/vetting/application.html",
        {
            "p": provider,
            "state_badge": vetting.STATE_BADGES.get(provider.vetting_state, ""),
            "next_step": vetting.NEXT_STEPS.get(provider.vetting_state, ""),
            "events": _events(provider),
            "documents": provider.documents.select_related("uploaded_by"),
            "certificates": vetting.certificates_of(provider),
            "towns": list(provider.towns_served.all()),
            "clusters": list(provider.clusters_served.all()),
            "actions": vetting.actions_for(provider, request.user),
            "reapply_from": vetting.reapply_allowed_from(provider),
            "reapply_days": vetting.reapply_wait_days(),
            "today": timezone.localdate(),
            "can_edit": permissions.can_edit_provider_profile(request.user, provider)[0],
            "can_upload": permissions.can_upload_document(request.user, provider)[0],
            "can_add_certificate": permissions.can_add_certificate(request.user, provider)[0],
            "upload_form": DocumentUploadForm(),
            "visibility_notice": vetting.visibility_notice_for(request.user),
        },
    )


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return str(value) if value not in (None, "") else "—"


def _events(provider: Provider) -> list[dict[str, Any]]:
    return [
        {
            "at": e.at,
            "label": vetting.ACTION_LABELS.get(e.action, e.action),
            "action": e.action,
            "to_state": VettingState(e.to_state).label if e.to_state in VettingState.values else "",
            "reason": e.reason,
            "by": e.by,
            "changes": [
                (vetting.field_label(name), _shown(pair[0]), _shown(pair[1]))
                for name, pair in (e.changes or {}).items()
                if isinstance(pair, list | tuple) and len(pair) == 2
            ],
        }
        for e in vetting.vetting_events_for(provider)
    ]


@login_required
@require_POST
def application_resubmit(request: HttpRequest) -> HttpResponse:
    provider = _own_provider(request)
    seen = request.POST.get("expected_state", "")
    try:
        vetting.provider_transition(
            provider=provider,
            action="resubmit",
            by=request.user,
            expected_state=seen if seen in VettingState.values else None,
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, str(vetting.DONE_MESSAGES["resubmit"]))
    return redirect("providers:application")


@login_required
def profile_edit(request: HttpRequest) -> HttpResponse:
    provider = _own_provider(request)
    check(permissions.can_edit_provider_profile(request.user, provider))
    form = ProviderProfileForm.for_provider(provider, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            vetting.provider_profile_update(provider=provider, by=request.user, data=form.changes())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("providers:application")
    return render(request, "providers/vetting/profile_edit.html", {"form": form, "p": provider})


@login_required
@require_POST
def document_upload(request: HttpRequest) -> HttpResponse:
    provider = _own_provider(request)
    check(permissions.can_upload_document(request.user, provider))
    form = DocumentUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            vetting.document_upload(
                provider=provider,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
                by=request.user,
            )
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, _("材料已上传"))
    else:
        messages.error(
            request, "；".join(str(e) for errors in form.errors.values() for e in errors)
        )
    return redirect("providers:application")


@login_required
@require_POST
def document_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(vetting.documents_visible_to(request.user), pk=pk)
    if (
        document.withdrawn_at is not None
        and permissions.can_upload_document(request.user, document.provider)[0]
    ):
        messages.info(request, _("该材料已撤回"))  # a second click: it was done
        return redirect("providers:application")
    try:
        vetting.document_withdraw(
            document=document, by=request.user, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("材料已撤回，需要时请上传正确的文件"))
    return redirect("providers:application")


@login_required
def document_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    document = get_object_or_404(vetting.documents_visible_to(request.user), pk=pk)
    return _file_response(document.file, document.original_name)


@login_required
def certificate_add(request: HttpRequest) -> HttpResponse:
    provider = _own_provider(request)
    check(permissions.can_add_certificate(request.user, provider))
    form = CertificateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            vetting.certificate_add(
                provider=provider,
                by=request.user,
                type=data["type"],
                level=data["level"],
                number=data["number"],
                issuer=data["issuer"],
                issued_on=data["issued_on"],
                expires_on=data["expires_on"],
                upload=data["file"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("证书已登记，待市工信局审核"))
            return redirect("providers:application")
    return render(
        request,
        "providers/vetting/certificate_add.html",
        {
            "form": form,
            "p": provider,
            "visibility_notice": vetting.visibility_notice_for(request.user),
        },
    )


@login_required
def certificate_levels(request: HttpRequest) -> HttpResponse:
    """The level <select> for the chosen certificate type (htmx swaps it in)."""
    if provider_for(request.user) is None:
        raise Http404
    raw = request.GET.get("type", "")
    chosen = CertificateType.objects.filter(pk=raw).first() if raw.isdigit() else None
    return render(
        request,
        "providers/vetting/_level_select.html",
        {"choices": level_choices(chosen), "required": bool(chosen and chosen.has_level)},
    )


@login_required
def certificate_file(request: HttpRequest, pk: int) -> HttpResponseBase:
    certificate = get_object_or_404(vetting.certificate_files_visible_to(request.user), pk=pk)
    if not certificate.file:
        raise Http404
    return _file_response(certificate.file, certificate.original_name or certificate.file.name)


# -- city side --------------------------------------------------------------------------------


def _queue(request: HttpRequest) -> tuple[QueueFilterForm, Any]:
    form = QueueFilterForm(request.GET or None)
    return form, vetting.vetting_queue(request.user, **form.filters())


@login_required
def vetting_queue(request: HttpRequest) -> HttpResponse:
    check(permissions.can_view_vetting_queue(request.user))
    form, qs = _queue(request)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    for row in page:
        row.badge = vetting.STATE_BADGES.get(row.vetting_state, "")
    query = request.GET.copy()
    query.pop("page", None)
    counts = vetting.vetting_state_counts(request.user)
    current = form.filters()["state"]
    tabs = [
        {"state": "", "label": _("全部"), "n": sum(counts.values()), "active": not current},
        *(
            {"state": value, "label": label, "n": counts.get(value, 0), "active": current == value}
            for value, label in VettingState.choices
        ),
    ]
    without_state = request.GET.copy()
    for key in ("page", "state"):
        without_state.pop(key, None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "base_query": without_state.urlencode(),
        "tabs": tabs,
        "pending_certificates": vetting.certificates_pending_review(request.user).count(),
    }
    partial = is_htmx(request)
    template = "_queue_table.html" if partial else "queue.html"
    return render(request, f"providers/vetting/{template}", context)


@login_required
def vetting_export(request: HttpRequest) -> HttpResponseBase:
    check(permissions.can_view_vetting_queue(request.user))
    _form, qs = _queue(request)
    buffer = io.BytesIO()
    write_vetting_xlsx(qs, buffer)
    buffer.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(
        buffer, as_attachment=True, filename=f"providers-vetting-{stamp}.xlsx", content_type=XLSX
    )


def _detail(
    request: HttpRequest, provider: Provider, transition_form: TransitionForm | None = None
) -> HttpResponse:
    today = timezone.localdate()
    lapses = vetting.certificate_lapses(provider, today=today)
    return render(
        request,
        "providers/vetting/detail.html",
        {
            "p": provider,
            "state_badge": vetting.STATE_BADGES.get(provider.vetting_state, ""),
            "events": _events(provider),
            "documents": provider.documents.select_related("uploaded_by"),
            "certificates": vetting.certificates_of(provider),
            "actions": vetting.actions_for(provider, request.user),
            "transition_form": transition_form or TransitionForm(),
            "lapses": lapses,
            "approval_pending": provider.vetting_state
            in (VettingState.SUBMITTED, VettingState.UNDER_REVIEW),
            "registration_warnings": vetting.registration_warnings(provider),
            "hidden_products": provider.products.filter(visibility="hidden_certificate").count(),
            "today": today,
            "can_set_lead": permissions.can_set_lead_provider(request.user, provider)[0],
        },
    )


def _city_provider(request: HttpRequest, pk: int) -> Provider:
    provider = vetting.vetting_provider_for(request.user, pk)
    if provider is None:
        raise Http404
    return provider


@login_required
def vetting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _city_provider(request, pk))


@login_required
@require_POST
def vetting_transition(request: HttpRequest, pk: int) -> HttpResponse:
    provider = _city_provider(request, pk)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        return _detail(request, provider, form)
    data = form.cleaned_data
    try:
        vetting.provider_transition(
            provider=provider,
            action=data["action"],
            by=request.user,
            reason=data["reason"],
            expected_state=data["expected_state"] or None,
        )
    except ValidationError as exc:
        _add_errors(form, exc)
        provider.refresh_from_db()
        return _detail(request, provider, form)
    messages.success(request, str(vetting.DONE_MESSAGES.get(data["action"], _("已保存"))))
    return redirect("providers:vetting_detail", pk=pk)


@login_required
@require_POST
def vetting_lead(request: HttpRequest, pk: int) -> HttpResponse:
    provider = _city_provider(request, pk)
    form = LeadForm(request.POST)
    if form.is_valid():
        try:
            vetting.lead_provider_set(
                provider=provider, lead=form.cleaned_data["lead"], by=request.user
            )
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, _("已保存牵引单位设置"))
    return redirect("providers:vetting_detail", pk=pk)


@login_required
def certificate_queue(request: HttpRequest) -> HttpResponse:
    check(permissions.can_view_vetting_queue(request.user))
    pending = vetting.certificates_pending_review(request.user)
    return render(
        request,
        "providers/vetting/certificate_queue.html",
        {"certificates": pending[:200], "total": pending.count(), "today": timezone.localdate()},
    )


@login_required
@require_POST
def certificate_review(request: HttpRequest, pk: int) -> HttpResponse:
    certificate = get_object_or_404(vetting.certificate_files_visible_to(request.user), pk=pk)
    form = CertificateReviewForm(request.POST)
    back = request.POST.get("next") or ""
    if form.is_valid():
        try:
            vetting.certificate_review(
                certificate=certificate,
                approve=form.cleaned_data["decision"] == "approve",
                by=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, _("证书审核已保存"))
    else:
        messages.error(request, _("请选择认可或不予认可"))
    if back == "queue":
        return redirect("providers:certificate_queue")
    return redirect("providers:vetting_detail", pk=certificate.provider_id)
