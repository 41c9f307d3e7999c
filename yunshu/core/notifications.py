"""The one way any workflow tells people something: in-app, and by email after commit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import Notification
from .prepared import Prepared


def notify(*, recipients: Iterable[Any], subject: str, body: str = "", url: str = "") -> int:
    people = [u for u in recipients if u is not None and getattr(u, "is_active", True)]
    Notification.objects.bulk_create(
        [Notification(recipient=u, subject=subject[:200], body=body, url=url) for u in people]
    )
    emails = [
        (subject, f"{body}\n\n{url}".strip(), settings.DEFAULT_FROM_EMAIL, [u.email])
        for u in people
        if u.email
    ]
    if emails:
        transaction.on_commit(lambda: send_mass_mail(emails, fail_silently=True))
    return len(people)


def notifications_for(user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def notifications_unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return _UNREAD.count(user_id=user.pk)


# The count every signed-in page shows in its header: compiled once (core.prepared).
_UNREAD = Prepared(
    lambda user_id: Notification.objects.filter(recipient_id=user_id, read_at=None), user_id=int
)


def notifications_mark_read(*, user: Any, ids: Iterable[int] | None = None) -> int:
    qs = Notification.objects.filter(recipient=user, read_at=None)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())
