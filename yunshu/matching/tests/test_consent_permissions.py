"""Roles × actions on the consent screens: seven roles and the anonymous visitor, each trying
to share, revoke, open the inbox, propose, decide and rate. Exactly one role may do each; the
rest get the same 404 as a missing page (anonymous: the login page), and nothing changes."""

from __future__ import annotations

import pytest

from yunshu.enterprises.models import DataGrant
from yunshu.matching import consent
from yunshu.matching.models import Proposal, Rating

from .consent_world import ROLES, make_world, proposal, share

pytestmark = pytest.mark.django_db

ANONYMOUS = "anonymous"
ACTORS = [*ROLES, ANONYMOUS]
# action: the role that may do it
ALLOWED = {
    "share": "enterprise",
    "revoke": "enterprise",
    "inbox": "provider",
    "propose": "provider",
    "decide": "enterprise",
    "withdraw": "provider",
    "deliver": "enterprise",
    "rate": "enterprise",
}


@pytest.fixture
def w():
    world = make_world()
    world.grant = share(world)
    world.sent = proposal(world, title="待答复")
    world.accepted = proposal(world, title="实施中", state="accepted")
    world.delivered = proposal(world, title="已交付", state="delivered")
    return world


def _request(client, w, action):
    share_data = {
        "provider": w.other_provider.pk,
        "scope_profile": "on",
        "expires_on": str(consent.share_default_expiry()),
    }
    return {
        "share": lambda: client.post("/matching/share/", share_data),
        "revoke": lambda: client.post(f"/matching/share/{w.grant.pk}/revoke/"),
        "inbox": lambda: client.get("/matching/inbox/"),
        "propose": lambda: client.post(
            f"/matching/proposals/new/{w.enterprise.pk}/",
            {"title": "新方案", "body": "内容", "price_yuan": "100", "weeks": "2"},
        ),
        "decide": lambda: client.post(f"/matching/proposals/{w.sent.pk}/accept/"),
        "withdraw": lambda: client.post(f"/matching/proposals/{w.sent.pk}/withdraw/"),
        "deliver": lambda: client.post(f"/matching/proposals/{w.accepted.pk}/deliver/"),
        "rate": lambda: client.post(f"/matching/ratings/{w.delivered.pk}/", {"stars": "5"}),
    }[action]()


def _done(w, action) -> bool:
    """Whether the action took effect."""
    w.sent.refresh_from_db()
    w.accepted.refresh_from_db()
    w.grant.refresh_from_db()
    return {
        "share": DataGrant.objects.filter(provider=w.other_provider.organisation).exists(),
        "revoke": w.grant.revoked_at is not None,
        "inbox": True,
        "propose": Proposal.objects.filter(title="新方案").exists(),
        "decide": w.sent.state == "accepted",
        "withdraw": w.sent.state == "withdrawn",
        "deliver": w.accepted.state == "delivered",
        "rate": Rating.objects.exists(),
    }[action]


@pytest.mark.parametrize("action", list(ALLOWED))
@pytest.mark.parametrize("actor", ACTORS)
def test_exactly_one_role_may_take_each_action(client, w, actor, action):
    if actor != ANONYMOUS:
        client.force_login(w.users[actor])
    response = _request(client, w, action)
    if actor == ANONYMOUS:
        assert response.status_code == 302 and response.url.startswith("/accounts/login/")
        assert action == "inbox" or not _done(w, action)
    elif actor == ALLOWED[action]:
        assert response.status_code in (200, 302), (actor, action)
        assert _done(w, action), (actor, action)
    else:
        assert response.status_code == 404, (actor, action, response.status_code)
        assert action == "inbox" or not _done(w, action), (actor, action)


@pytest.mark.parametrize(
    "path",
    ["/matching/share/", "/matching/share/log/", "/matching/share/providers/?q=云"],
)
@pytest.mark.parametrize("actor", ACTORS)
def test_the_enterprise_pages_are_for_the_enterprise_only(client, w, actor, path):
    if actor != ANONYMOUS:
        client.force_login(w.users[actor])
    status = client.get(path).status_code
    expected = {ANONYMOUS: 302, "enterprise": 200}.get(actor, 404)
    assert status == expected, (actor, path)


@pytest.mark.parametrize("actor", ACTORS)
def test_a_proposal_is_seen_by_its_two_parties_and_the_city_only(client, w, actor):
    if actor != ANONYMOUS:
        client.force_login(w.users[actor])
    status = client.get(f"/matching/proposals/{w.sent.pk}/").status_code
    expected = {ANONYMOUS: 302, "enterprise": 200, "provider": 200, "city": 200}.get(actor, 404)
    assert status == expected, actor


def test_another_enterprise_and_another_provider_see_none_of_it(client, w):
    stranger = make_world()
    for user in (stranger.owner, stranger.provider_user):
        client.force_login(user)
        assert client.get(f"/matching/proposals/{w.sent.pk}/").status_code == 404
        assert client.post(f"/matching/proposals/{w.sent.pk}/accept/").status_code == 404
        assert client.post(f"/matching/ratings/{w.delivered.pk}/", {"stars": 5}).status_code == 404
        assert list(client.get("/matching/proposals/").context["page"]) == []
    client.force_login(stranger.owner)
    assert client.post(f"/matching/share/{w.grant.pk}/revoke/").status_code == 404
    client.force_login(stranger.provider_user)
    assert client.get(f"/matching/proposals/new/{w.enterprise.pk}/").status_code == 404
    assert list(client.get("/matching/inbox/?tab=demand").context["rows"]) == []


@pytest.mark.parametrize(
    "model",
    [
        "matchrun",
        "recommendation",
        "proposal",
        "rating",
        "matchmakingevent",
        "eventoutcome",
    ],
)
def test_superusers_maintain_matching_data_in_the_admin_and_officers_cannot(client, w, model):
    from yunshu.accounts.models import User

    admin = User.objects.create_superuser("root", "root@example.test", "pw-for-tests-1")
    client.force_login(admin)
    assert client.get(f"/admin/matching/{model}/").status_code == 200
    client.force_login(w.users["city"])
    assert client.get(f"/admin/matching/{model}/").status_code == 302
