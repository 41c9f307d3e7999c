from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yunshu.accounts.backends import SIGN_IN_BACKEND
from yunshu.core.errors import check
from yunshu.enterprises.services import enterprise_signup

from . import services
from .forms import AcceptInvitationForm, InviteForm, SignupForm
from .permissions import can_manage_members


def _add_errors(form, exc: ValidationError) -> None:  # type: ignore[no-untyped-def]
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, claim = enterprise_signup(**form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            login(request, user, backend=SIGN_IN_BACKEND)
            if claim is not None:
                messages.info(request, _("该企业已在企业库中，认领申请已提交镇街审核"))
            else:
                messages.info(request, _("注册成功，企业信息待镇街核验"))
            return redirect("home")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def members(request: HttpRequest) -> HttpResponse:
    org = request.user.organisation  # type: ignore[union-attr]
    if org is None:
        raise Http404
    check(can_manage_members(request.user, org))
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.invitation_create(
            organisation=org, email=form.cleaned_data["email"], by=request.user
        )
        messages.success(request, _("邀请已发送"))
        return redirect("accounts:members")
    return render(
        request,
        "accounts/members.html",
        {
            "form": form,
            "org": org,
            "members": org.members.filter(is_active=True).order_by("username"),
            "invitations": org.invitations.filter(accepted_at=None).order_by("-created_at")[:20],
        },
    )


@login_required
@require_POST
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    org = request.user.organisation  # type: ignore[union-attr]
    member = get_object_or_404(
        get_user_model().objects.filter(organisation=org, is_active=True), pk=pk
    )
    try:
        services.member_remove(member=member, by=request.user)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已移除"))
    return redirect("accounts:members")


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(token=token, **form.cleaned())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            login(request, user, backend=SIGN_IN_BACKEND)
            return redirect("home")
    return render(request, "accounts/accept_invitation.html", {"form": form})
