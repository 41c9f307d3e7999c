"""A small world for the consent, proposal and rating tests (not a test module)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from yunshu.accounts.models import Role
from yunshu.assessments.models import Assessment, AssessmentResult, Questionnaire
from yunshu.enterprises.models import DataGrant, Enterprise
from yunshu.factories import EnterpriseFactory, grant, product, provider, provider_user, user_for
from yunshu.matching.models import Proposal
from yunshu.providers.models import Provider

ROLES = [
    Role.CITY,
    Role.TOWN,
    Role.ENTERPRISE,
    Role.PROVIDER,
    Role.EXPERT,
    Role.ASSESSOR,
    Role.COLLEGE,
]
# Scene levels of the enterprise's maturity result: two mandatory gaps, one optional gap.
LEVELS = {
    "quality": 0,
    "production_control": 1,
    "equipment": 3,
    "collaboration": 1,
    "decision_support": None,
}


def maturity_result(
    enterprise: Enterprise, levels: dict[str, Any] | None = None, level: int = 1
) -> AssessmentResult:
    """A submitted self-assessment of maturity with the given scene levels."""
    org = enterprise.organisation if hasattr(enterprise, "organisation") else None
    if org is None:
        org = user_for(Role.ENTERPRISE, enterprise=enterprise).organisation
    a = Assessment.objects.create(
        enterprise=enterprise,
        questionnaire=Questionnaire.objects.get(key="maturity-2024"),
        source=Assessment.Source.SELF,
        status=Assessment.Status.SUBMITTED,
        organisation=org,
        submitted_at=timezone.now(),
    )
    return AssessmentResult.objects.create(
        assessment=a,
        version=1,
        computed={"scene_levels": dict(LEVELS if levels is None else levels), "level": level},
        level=level,
    )


@dataclass
class World:
    enterprise: Enterprise
    owner: Any  # the enterprise's user
    provider: Provider
    provider_user: Any
    other_provider: Provider
    pending_provider: Provider  # applied, not yet in the pool
    users: dict[str, Any]  # one user per role; the enterprise and provider ones are above


def make_world() -> World:
    enterprise = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=enterprise)
    prov = provider(name="东莞云启数字科技有限公司")
    prov_user = provider_user(prov)
    users = {role: user_for(role) for role in ROLES}
    users[Role.ENTERPRISE] = owner
    users[Role.PROVIDER] = prov_user
    return World(
        enterprise=enterprise,
        owner=owner,
        provider=prov,
        provider_user=prov_user,
        other_provider=provider(name="广东智造云服务有限公司"),
        pending_provider=provider(name="待审核科技有限公司", state="submitted"),
        users=users,
    )


def share(w: World, enterprise: Enterprise | None = None, **kw: Any) -> DataGrant:
    """A grant from the enterprise to the world's provider (profile only unless told)."""
    return grant(enterprise or w.enterprise, w.provider_user, **kw)


def proposal(w: World, enterprise: Enterprise | None = None, **kw: Any) -> Proposal:
    fields: dict[str, Any] = {
        "title": "质量管理上云方案",
        "body": "上线质量追溯系统",
        "price_yuan": Decimal("58000.00"),
        "weeks": 6,
    }
    fields.update(kw)
    return Proposal.objects.create(
        provider=w.provider,
        enterprise=enterprise or w.enterprise,
        created_by=w.provider_user,
        **fields,
    )


def later(days: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


__all__ = ["LEVELS", "ROLES", "World", "later", "make_world", "maturity_result", "product"]
