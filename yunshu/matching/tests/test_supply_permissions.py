"""Permission matrix of the supply and demand table and matchmaking events: every role and
anonymous × every action, through the real URLs. Forbidden is the same 404 as missing."""

from dataclasses import dataclass
from typing import Any

import pytest

from yunshu.accounts.models import Role
from yunshu.factories import provider, provider_user, town, user_for
from yunshu.matching import events as ev
from yunshu.matching.models import EventInvitation, EventOutcome, MatchmakingEvent
from yunshu.matching.tests.supply_factories import assessed, cluster, event, held

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
    for action in ("open", "close"):
        ev.event_transition(event=done, action=action, by=city)
    ev.event_transition(event=held(done), action="finish", by=city)
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


# --- a city event held in a town: its officer sees and acts on its own town's firms only ------


@dataclass
class CityEvent:
    event: Any
    own: Any  # an invitee of the host town (虎门)
    far: Any  # an invitee of another town (长安)
    far_invitation: Any
    far_outcome: Any
    provider: Any


FAR_PHONE = "13911112222"


@pytest.fixture
def citywide(world):
    city = world.users[Role.CITY]
    far = assessed({"quality": 1}, account=True, town_name="长安")
    e = event(city, title="全市纺织服装对接会", town=town("虎门"))
    ids = [world.enterprise.organisation.pk, far.organisation.pk, world.provider.organisation_id]
    ev.event_invite(event=e, organisation_ids=ids, by=city)
    ev.event_transition(event=e, action="open", by=city)
    ev.event_register(
        event=e, attendee_name="本镇张三", attendee_phone="13800000000", by=world.enterprise.user
    )
    ev.event_register(event=e, attendee_name="外镇李四", attendee_phone=FAR_PHONE, by=far.user)
    ev.event_transition(event=e, action="close", by=city)
    ev.event_attendance_mark(
        event=e, attended_ids=e.invitations.values_list("pk", flat=True), by=city
    )
    ev.event_transition(event=held(e), action="finish", by=city)
    outcome = ev.event_outcome_record(
        event=e, enterprise=far, provider=world.provider, kind="contract", by=city
    )
    invitation = EventInvitation.objects.get(event=e, organisation=far.organisation)
    return CityEvent(e, world.enterprise, far, invitation, outcome, world.provider)


def _do_far(client, c, action):
    """One action on the other town's invitee; returns (response, whether it took effect)."""
    url = f"/matching/events/{c.event.pk}"
    match action:
        case "see_far_invitee":
            r = client.get(f"{url}/")
            html = r.content.decode() if r.status_code == 200 else ""
            return r, c.far.name in html or FAR_PHONE in html
        case "unmark_far_attendance":
            own = EventInvitation.objects.get(event=c.event, organisation=c.own.organisation)
            r = client.post(f"{url}/attendance/", {"attended": [own.pk]})
            return r, EventInvitation.objects.get(pk=c.far_invitation.pk).status != "attended"
        case "mark_far_attendance":
            EventInvitation.objects.filter(pk=c.far_invitation.pk).update(status="registered")
            r = client.post(f"{url}/attendance/", {"attended": [c.far_invitation.pk]})
            return r, EventInvitation.objects.get(pk=c.far_invitation.pk).status == "attended"
        case "delete_far_outcome":
            r = client.post(f"{url}/outcomes/{c.far_outcome.pk}/delete/")
            return r, not EventOutcome.objects.filter(pk=c.far_outcome.pk).exists()
        case "record_far_outcome":
            before = EventOutcome.objects.count()
            r = client.post(
                f"{url}/outcomes/",
                {"enterprise_uscc": c.far.uscc, "provider": c.provider.pk, "kind": "intention"},
            )
            return r, EventOutcome.objects.count() == before + 1
    raise AssertionError(action)


FAR_ACTIONS = [
    "see_far_invitee",
    "unmark_far_attendance",
    "mark_far_attendance",
    "delete_far_outcome",
    "record_far_outcome",
]


@pytest.mark.parametrize("action", FAR_ACTIONS)
@pytest.mark.parametrize("role", [*ROLES, None])
def test_only_the_city_sees_and_acts_on_another_towns_invitee_of_a_city_event(
    client, world, citywide, role, action
):
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    response, took_effect = _do_far(client, citywide, action)
    if role is None:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    elif role == Role.CITY:
        assert response.status_code in (200, 302) and took_effect
    elif role == Role.TOWN:
        # The host town's officer manages the event, but not the other town's firm.
        assert response.status_code in (200, 302, 404)
    else:
        assert response.status_code in (200, 404)  # invitees see the event, not the table
    if role != Role.CITY:
        assert not took_effect


def test_the_host_towns_officer_sees_its_own_invitee_and_a_count_of_the_others(
    client, world, citywide
):
    client.force_login(world.users[Role.TOWN])
    html = client.get(f"/matching/events/{citywide.event.pk}/").content.decode()
    assert citywide.own.name in html and "13800000000" in html
    assert citywide.far.name not in html and FAR_PHONE not in html
    assert 'data-testid="invitations-hidden"' in html and "另有 1 家其他镇街的企业受邀" in html
    # Its own firm's attendance it can still change; the other town's stays as the city set it.
    own = EventInvitation.objects.get(event=citywide.event, organisation=citywide.own.organisation)
    client.post(f"/matching/events/{citywide.event.pk}/attendance/", {"attended": []})
    assert EventInvitation.objects.get(pk=own.pk).status == "registered"
    assert EventInvitation.objects.get(pk=citywide.far_invitation.pk).status == "attended"


def test_the_outcome_delete_service_refuses_an_outcome_outside_the_officers_reach(world, citywide):
    from django.http import Http404

    with pytest.raises(Http404):
        ev.event_outcome_delete(outcome=citywide.far_outcome, by=world.users[Role.TOWN])
    assert EventOutcome.objects.filter(pk=citywide.far_outcome.pk).exists()
