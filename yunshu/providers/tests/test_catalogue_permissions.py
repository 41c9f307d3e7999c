"""Roles × actions on the catalogue: public reads for all, product management for the owning
provider only (one 404 for missing and forbidden), the export for officials only."""

from __future__ import annotations

import pytest

from yunshu.accounts.models import Role
from yunshu.factories import product, provider, provider_user, user_for
from yunshu.providers.models import Product

pytestmark = pytest.mark.django_db

ACTORS = [
    "anonymous",
    "owner",
    "owner_pending",
    "owner_suspended",
    "other_provider",
    Role.CITY,
    Role.TOWN,
    Role.ENTERPRISE,
    Role.EXPERT,
    Role.ASSESSOR,
    Role.COLLEGE,
]
OWNERS = {"owner", "owner_pending"}
# What each action answers: 200 (allowed), 302 (done, or sent to the login page), 404.
EXPECTED = {
    "list": dict.fromkeys(ACTORS, 200),
    "detail": dict.fromkeys(ACTORS, 200),
    "compare": dict.fromkeys(ACTORS, 200),
    "profile": dict.fromkeys(ACTORS, 200),
    "mine": {
        **dict.fromkeys(ACTORS, 404),
        "anonymous": 302,
        "owner": 200,
        "owner_pending": 200,
        "owner_suspended": 200,
        "other_provider": 200,  # their own (empty) list
    },
    "create_form": {
        **dict.fromkeys(ACTORS, 404),
        "anonymous": 302,
        "owner": 200,
        "owner_pending": 200,
        "other_provider": 200,  # for their own organisation
    },
    "edit_form": {**dict.fromkeys(ACTORS, 404), "anonymous": 302, "owner": 200},
    "edit_post": {**dict.fromkeys(ACTORS, 404), "anonymous": 302, "owner": 302},
    "withdraw": {**dict.fromkeys(ACTORS, 404), "anonymous": 302, "owner": 302},
    "export": {
        **dict.fromkeys(ACTORS, 404),
        "anonymous": 302,
        Role.CITY: 200,
        Role.TOWN: 200,
    },
}


@pytest.fixture
def world():
    approved = provider(name="东莞甲科技有限公司")
    pending = provider(name="东莞乙科技有限公司", state="under_review")
    suspended = provider(name="东莞丙科技有限公司", state="suspended")
    return {
        "approved": approved,
        "item": product(approved, name="甲产品"),
        "pending_item": product(pending, name="乙产品"),
        "suspended_item": product(suspended, name="丙产品"),
        "users": {
            "owner": provider_user(approved),
            "owner_pending": provider_user(pending),
            "owner_suspended": provider_user(suspended),
            "other_provider": provider_user(provider(name="东莞丁科技有限公司")),
            **{
                role: user_for(role)
                for role in (
                    Role.CITY,
                    Role.TOWN,
                    Role.ENTERPRISE,
                    Role.EXPERT,
                    Role.ASSESSOR,
                    Role.COLLEGE,
                )
            },
        },
    }


def _call(client, world, action):
    item = world["item"]
    edit = {
        "name": "改名",
        "summary": "s",
        "deployment": "saas",
        "price_model": "subscription",
        "implementation_weeks": "4",
        "data_residency": "mainland",
        "price_micro_low": "1",
        "price_micro_high": "2",
        "scene_quality": "2",
    }
    match action:
        case "list":
            return client.get("/catalogue/")
        case "detail":
            return client.get(f"/catalogue/{item.pk}/")
        case "compare":
            return client.get(f"/catalogue/compare/?ids={item.pk}")
        case "profile":
            return client.get(f"/catalogue/providers/{world['approved'].pk}/")
        case "mine":
            return client.get("/catalogue/mine/")
        case "create_form":
            return client.get("/catalogue/mine/new/")
        case "edit_form":
            return client.get(f"/catalogue/mine/{item.pk}/edit/")
        case "edit_post":
            return client.post(f"/catalogue/mine/{item.pk}/edit/", edit)
        case "withdraw":
            return client.post(f"/catalogue/mine/{item.pk}/withdraw/")
        case "export":
            return client.get("/catalogue/export.xlsx")
    raise AssertionError(action)


@pytest.mark.parametrize("action", list(EXPECTED))
@pytest.mark.parametrize("actor", ACTORS)
def test_permission_matrix(client, world, actor, action):
    if actor != "anonymous":
        client.force_login(world["users"][actor])
    response = _call(client, world, action)
    assert response.status_code == EXPECTED[action][actor], (actor, action)
    item = Product.objects.get(pk=world["item"].pk)
    if actor == "owner" and action == "edit_post":
        assert item.name == "改名"
    elif actor == "owner" and action == "withdraw":
        assert item.status == "withdrawn"
    else:
        assert item.name == "甲产品" and item.status == "published"


def test_a_provider_sees_only_its_own_products_in_its_list(client, world):
    client.force_login(world["users"]["owner_pending"])
    assert [p.name for p in client.get("/catalogue/mine/").context["products"]] == ["乙产品"]


def test_a_suspended_provider_sees_its_products_but_cannot_change_them(client, world):
    client.force_login(world["users"]["owner_suspended"])
    response = client.get("/catalogue/mine/")
    assert [p.name for p in response.context["products"]] == ["丙产品"]
    assert not response.context["can_manage"]
    item = world["suspended_item"]
    assert client.post(f"/catalogue/mine/{item.pk}/withdraw/").status_code == 404
    assert client.get(f"/catalogue/mine/{item.pk}/edit/").status_code == 404
