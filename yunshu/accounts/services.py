"""Writes to organisations and their members."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yunshu.core.audit import audit_record
from yunshu.core.errors import check
from yunshu.core.notifications import notify
from yunshu.enterprises.services import _create_user

from .models import Invitation, Organisation
from .permissions import can_manage_members

INVITATION_DAYS = 7


@transaction.atomic
def invitation_create(*, organisation: Organisation, email: str, by: Any) -> Invitation:
    check(can_manage_members(by, organisation))
    invitation = Invitation.objects.create(
        organisation=organisation,
        email=email,
        token=secrets.token_urlsafe(32),
        invited_by=by,
        expires_at=timezone.now() + dt.timedelta(days=INVITATION_DAYS),
    )
    audit_record(
        actor=by,
        action="invitation.create",
        obj=invitation,
        after={"email": email, "organisation": organisation.pk},
    )
    transaction.on_commit(lambda: _send_invitation(invitation))
    return invitation


def _send_invitation(invitation: Invitation) -> None:
    from django.conf import settings
    from django.core.mail import send_mail

    send_mail(
        _("邀请您加入 %(o)s（云数平台）") % {"o": invitation.organisation.name},
        _("请打开以下链接设置账号：%(u)s") % {"u": f"/accounts/invite/{invitation.token}/"},
        settings.DEFAULT_FROM_EMAIL,
        [invitation.email],
        fail_silently=True,
    )


@transaction.atomic
def invitation_accept(*, token: str, username: str, password: str, display_name: str) -> Any:
    User = get_user_model()
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("organisation")
        .filter(token=token)
        .first()
    )
    if invitation is None or invitation.accepted_at or invitation.expires_at < timezone.now():
        raise ValidationError(_("邀请链接无效或已过期"))
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": _("该用户名已被使用")})
    user = _create_user(
        username=username,
        email=invitation.email,
        password=password,
        organisation=invitation.organisation,
        display_name=display_name,
    )
    invitation.accepted_at, invitation.accepted_user = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_user"])
    audit_record(actor=user, action="invitation.accept", obj=invitation, after={"user": user.pk})
    admins = invitation.organisation.members.filter(is_org_admin=True)
    notify(recipients=admins, subject=_("%(u)s 已加入本机构") % {"u": display_name or username})
    return user


@transaction.atomic
def member_remove(*, member: Any, by: Any) -> Any:
    check(can_manage_members(by, member.organisation))
    if member.pk == by.pk:
        raise ValidationError(_("不能移除自己"))
    member.is_active = False
    member.save(update_fields=["is_active"])
    audit_record(
        actor=by,
        action="member.remove",
        obj=member,
        before={"is_active": True},
        after={"is_active": False},
    )
    return member
