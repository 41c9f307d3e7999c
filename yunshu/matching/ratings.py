"""Ratings (服务评价): after delivery (验收) the enterprise rates the provider once per proposal.

Provider.rating_count / rating_average are recomputed from the Rating table while the
provider row is locked, so concurrent ratings of one provider never lose an update.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet, Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from yunshu.accounts.models import Role, User
from yunshu.core.audit import audit_record
from yunshu.core.errors import check
from yunshu.core.notifications import notify
from yunshu.providers.catalogue_version import catalogue_bump
from yunshu.providers.models import Provider

from .models import Proposal, Rating
from .proposals import party_of

Decision = tuple[bool, str]
STARS = (1, 2, 3, 4, 5)


def _org(user: Any) -> Any:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    org = user.organisation
    return org if org is not None and org.is_active else None


def can_rate_proposal(user: Any, proposal: Proposal) -> Decision:
    """Only the enterprise the proposal was for, once it confirmed delivery."""
    if party_of(user, proposal) != Role.ENTERPRISE:
        return False, _("只有接受方案的企业可以评价")
    if proposal.state != Proposal.State.DELIVERED:
        return False, _("方案验收后才能评价")
    return True, ""


def ratings_visible_to(user: Any) -> QuerySet[Rating]:
    """A provider reads the ratings it received, an enterprise those it gave, the city all."""
    qs = Rating.objects.select_related("provider", "enterprise", "proposal")
    if getattr(user, "is_superuser", False) and user.is_active:
        return qs
    org = _org(user)
    if org is None:
        return qs.none()
    match org.kind:
        case Role.CITY:
            return qs
        case Role.ENTERPRISE:
            return qs.filter(enterprise_id=org.enterprise_id) if org.enterprise_id else qs.none()
        case Role.PROVIDER:
            return qs.filter(provider__organisation=org)
        case _:
            return qs.none()


def provider_rating_refresh(provider_id: int) -> tuple[int, Decimal | None]:
    """Recompute a provider's count and average from its ratings. Call with its row locked."""
    totals = Rating.objects.filter(provider_id=provider_id).aggregate(n=Count("pk"), s=Sum("stars"))
    count = int(totals["n"] or 0)
    average = (
        (Decimal(int(totals["s"])) / count).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if count
        else None
    )
    Provider.objects.filter(pk=provider_id).update(rating_count=count, rating_average=average)
    return count, average


@transaction.atomic
def rating_create(*, proposal: Proposal, by: Any, stars: Any, comment: str = "") -> Rating:
    """Rate once. A second identical submit returns the first rating; a different one is refused."""
    locked = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("provider", "enterprise")
        .get(pk=proposal.pk)
    )
    if party_of(by, locked) != Role.ENTERPRISE:
        check((False, ""))
    try:
        stars_n = int(stars)
    except (TypeError, ValueError):
        stars_n = 0
    comment = (comment or "").strip()
    existing = Rating.objects.filter(proposal=locked).first()
    if existing is not None:
        if existing.stars == stars_n and existing.comment == comment:
            return existing
        raise ValidationError(_("这个方案已经评价过，每个方案只能评价一次"))
    allowed, reason = can_rate_proposal(by, locked)
    if not allowed:
        raise ValidationError(reason)
    errors: dict[str, list[str]] = {}
    if stars_n not in STARS:
        errors["stars"] = [_("请选择 1 到 5 星")]
    if len(comment) > 500:
        errors["comment"] = [_("评价最多 500 字")]
    if errors:
        raise ValidationError(errors)
    # Lock the provider row first: ratings of one provider queue here, so none is lost.
    Provider.objects.select_for_update().filter(pk=locked.provider_id).first()
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                proposal=locked,
                enterprise_id=locked.enterprise_id,
                provider_id=locked.provider_id,
                stars=stars_n,
                comment=comment,
                created_by=by,
            )
    except IntegrityError:
        raise ValidationError(_("这个方案已经评价过，每个方案只能评价一次")) from None
    count, average = provider_rating_refresh(locked.provider_id)
    audit_record(
        actor=by,
        action="rating.create",
        obj=rating,
        after={
            "proposal": locked.pk,
            "provider": locked.provider_id,
            "stars": stars_n,
            "rating_count": count,
            "rating_average": average,
        },
    )
    catalogue_bump()
    notify(
        recipients=User.objects.filter(organisation_id=locked.provider.organisation_id),
        subject=_("%(e)s 对方案「%(t)s」评价 %(n)d 星")
        % {"e": locked.enterprise.name, "t": locked.title, "n": stars_n},
        body=comment,
        url=reverse("matching:proposal", args=[locked.pk]),
    )
    return rating
