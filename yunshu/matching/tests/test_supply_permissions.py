"""Permission matrix of the supply and demand table and matchmaking events: every role and
anonymous × every action, through the real URLs. Forbidden is the same 404 as missing."""

from dataclasses import dataclass
from typing import Any

import pytest

from yunshu.accounts.models import Role
from yunshu.factories import provider, provider_user, town, user_for
from yunshu.matching import events as ev
from yunshu.matching.models import EventInvitation, EventOutcome, MatchmakingEvent
from yunshu.matching.tests.supply_factories import assessed, cluster, event

pytestmark = pytest.mark.django_db
ROLES = [
    Role.CITY,
    Role.TOWN,
    Role.ENTERPRISE,
    Role.PROVIDER,
    Role.EXPERT,
    Role.ASSESSOR,
    Role.COLLEGE,
]


@dataclass
class World:
    users: dict[Any, Any]
    draft: Any
    open: Any
    done: Any
    enterprise: Any
    provider: Any


@pytest.fixture
def world():
    city = user_for(Role.CITY)
    ent = assessed({"quality": 1}, account=True)
    prov = provider()
    prov.clusters_served.add(cluster("textile"))
    ids = [ent.organisation.pk, prov.organisation_id]
    draft = event(city, title="筹备中", town=town("虎门"))
    opened = event(city, title="报名中", town=town("虎门"))
    ev.event_invite(event=opened, organisation_ids=ids, by=city)
    ev.event_transition(event=opened, action="open", by=city)
    done = event(city, title="已举办", town=town("虎门"))
    ev.event_invite(event=done, organisation_ids=ids, by=city)
    for action in ("open", "close", "finish"):
        ev.event_transition(event=done, action=action, by=city)
    users = {
        Role.CITY: city,
        Role.TOWN: user_for(Role.TOWN, town_name="虎门"),
        Role.ENTERPRISE: ent.user,
        Role.PROVIDER: provider_user(prov),
        Role.EXPERT: user_for(Role.EXPERT),
        Role.ASSESSOR: user_for(Role.ASSESSOR),
        Role.COLLEGE: user_for(Role.COLLEGE),
        None: None,
    }
    return World(users, draft, opened, done, ent, prov)


OFFICERS = {Role.CITY, Role.TOWN}


def _do(client, w, action):
    """Perform one action; returns (response, whether it took effect)."""
    match action:
        case "view_heatmap":
            r = client.get("/matching/supply/")
            return r, r.status_code == 200
        case "export_heatmap":
            r = client.get("/matching/supply/export.xlsx")
            return r, r.status_code == 200
        case "create_event":
            before = MatchmakingEvent.objects.count()
            r = client.post(
                "/matching/events/new/",
                {
                    "cluster": cluster("food").pk,
                    "title": "食品饮料对接会",
                    "starts_at": "2031-05-01T09:30",
                    "venue": "茶山镇",
                    "town": town("虎门").pk,
                    "capacity": 30,
                },
            )
            return r, MatchmakingEvent.objects.count() == before + 1
        case "transition":
            r = client.post(f"/matching/events/{w.draft.pk}/transition/", {"action": "open"})
            return r, MatchmakingEvent.objects.get(pk=w.draft.pk).state == "open"
        case "invite":
            r = client.post(
                f"/matching/events/{w.draft.pk}/invite/",
                {"organisations": [w.enterprise.organisation.pk]},
            )
            return r, EventInvitation.objects.filter(event=w.draft).exists()
        case "register":
            r = client.post(
                f"/matching/events/{w.open.pk}/register/",
                {"attendee_name": "张三", "attendee_phone": "13800000000"},
            )
            return r, EventInvitation.objects.filter(event=w.open, status="registered").exists()
        case "record_outcome":
            r = client.post(
                f"/matching/events/{w.done.pk}/outcomes/",
                {"enterprise": w.enterprise.pk, "provider": w.provider.pk, "kind": "intention"},
            )
            return r, EventOutcome.objects.filter(event=w.done).exists()
    raise AssertionError(action)


ALLOWED = {
    "view_heatmap": OFFICERS,
    "export_heatmap": OFFICERS,
    "create_event": OFFICERS,
    "transition": OFFICERS,
    "invite": OFFICERS,
    "register": {Role.ENTERPRISE, Role.PROVIDER},
    "record_outcome": OFFICERS,
}


@pytest.mark.parametrize("action", list(ALLOWED))
@pytest.mark.parametrize("role", [*ROLES, None])
def test_permission_matrix(client, world, role, action):
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    response, took_effect = _do(client, world, action)
    if role is None:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        assert not took_effect
    elif role in ALLOWED[action]:
        assert response.status_code in (200, 302) and took_effect, response.status_code
    else:
        assert response.status_code == 404 and not took_effect


@pytest.mark.parametrize("role", [*ROLES, None])
def test_who_sees_the_event_page(client, world, role):
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    response = client.get(f"/matching/events/{world.open.pk}/")
    if role is None:
        assert response.status_code == 302
    elif role in (Role.CITY, Role.TOWN, Role.ENTERPRISE, Role.PROVIDER):
        assert response.status_code == 200
    else:
        assert response.status_code == 404


def test_another_towns_officer_gets_the_same_404_as_for_a_missing_event(client, world):
    client.force_login(user_for(Role.TOWN, town_name="长安"))
    for url in (
        f"/matching/events/{world.open.pk}/",
        f"/matching/events/{world.open.pk}/invite/",
        "/matching/events/999999/",
    ):
        assert client.get(url).status_code == 404
    response = client.post(f"/matching/events/{world.draft.pk}/transition/", {"action": "open"})
    assert response.status_code == 404


def test_invitees_cannot_manage_their_event(client, world):
    client.force_login(world.users[Role.ENTERPRISE])
    for url in (
        f"/matching/events/{world.open.pk}/invite/",
        f"/matching/events/{world.open.pk}/edit/",
        f"/matching/events/{world.open.pk}/offline.xlsx",
    ):
        assert client.get(url).status_code == 404
    assert client.get("/matching/events/export.xlsx").status_code == 404
