"""Roles × actions on enterprises: list, detail, export and edit return exactly the right set."""

import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from yunshu.accounts.models import Role
from yunshu.enterprises.models import Enterprise
from yunshu.factories import EnterpriseFactory, grant, town, user_for


@pytest.fixture
def world(db):
    humen = [EnterpriseFactory(town=town("虎门")) for _ in range(3)]
    changan = [EnterpriseFactory(town=town("长安")) for _ in range(2)]
    own = humen[0]
    users = {
        Role.CITY: user_for(Role.CITY),
        Role.TOWN: user_for(Role.TOWN, town_name="虎门"),
        Role.ENTERPRISE: user_for(Role.ENTERPRISE, enterprise=own),
        Role.PROVIDER: user_for(Role.PROVIDER),
        Role.EXPERT: user_for(Role.EXPERT),
        Role.ASSESSOR: user_for(Role.ASSESSOR),
        Role.COLLEGE: user_for(Role.COLLEGE),
    }
    grant(changan[0], users[Role.PROVIDER])
    # An expired and a revoked grant give the provider nothing.
    grant(changan[1], users[Role.PROVIDER], expires_at=timezone.now() - dt.timedelta(days=1))
    grant(humen[1], users[Role.PROVIDER], revoked_at=timezone.now())
    return {"humen": humen, "changan": changan, "own": own, "users": users}


def _expected(world, role):
    everything = {e.pk for e in world["humen"] + world["changan"]}
    return {
        Role.CITY: everything,
        Role.TOWN: {e.pk for e in world["humen"]},
        Role.ENTERPRISE: {world["own"].pk},
        Role.PROVIDER: {world["changan"][0].pk},
        Role.EXPERT: set(),
        Role.ASSESSOR: set(),
        Role.COLLEGE: set(),
    }[role]


ROLES = [
    Role.CITY,
    Role.TOWN,
    Role.ENTERPRISE,
    Role.PROVIDER,
    Role.EXPERT,
    Role.ASSESSOR,
    Role.COLLEGE,
]


@pytest.mark.parametrize("role", ROLES)
def test_list_shows_exactly_what_the_role_may_see(client, world, role):
    client.force_login(world["users"][role])
    response = client.get("/enterprises/?per_page=100")
    if role in (Role.EXPERT, Role.ASSESSOR, Role.COLLEGE):
        assert response.status_code == 404
        return
    assert response.status_code == 200
    shown = {e.pk for e in response.context["page"].object_list}
    assert shown == _expected(world, role)


@pytest.mark.parametrize("role", ROLES)
def test_detail_is_found_only_inside_the_visible_set_and_404_otherwise(client, world, role):
    client.force_login(world["users"][role])
    visible = _expected(world, role)
    for e in world["humen"] + world["changan"]:
        status = client.get(f"/enterprises/{e.pk}/").status_code
        assert status == (200 if e.pk in visible else 404), (role, e.pk)
    missing = Enterprise.objects.order_by("-pk").first().pk + 1000
    assert client.get(f"/enterprises/{missing}/").status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_export_contains_exactly_the_visible_rows(client, world, role):
    client.force_login(world["users"][role])
    response = client.get("/enterprises/export.xlsx")
    if role not in (Role.CITY, Role.TOWN, Role.ENTERPRISE):
        assert response.status_code == 404
        return
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    codes = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    expected = set(
        Enterprise.objects.filter(pk__in=_expected(world, role)).values_list("uscc", flat=True)
    )
    assert codes == expected


@pytest.mark.parametrize("role", ROLES)
def test_only_the_enterprises_own_user_may_edit_it(client, world, role):
    client.force_login(world["users"][role])
    for e in world["humen"] + world["changan"]:
        status = client.get(f"/enterprises/{e.pk}/edit/").status_code
        allowed = role == Role.ENTERPRISE and e.pk == world["own"].pk
        assert status == (200 if allowed else 404), (role, e.pk)


def test_anonymous_user_is_sent_to_sign_in(client, world):
    response = client.get(f"/enterprises/{world['own'].pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_town_officer_cannot_see_other_towns_enterprises(client, world):
    client.force_login(world["users"][Role.TOWN])
    assert client.get(f"/enterprises/{world['changan'][0].pk}/").status_code == 404
    # A town filter for another town is ignored: the officer still sees only its own town.
    response = client.get(f"/enterprises/?town={town('长安').pk}")
    assert {e.town_name for e in response.context["page"].object_list} == {"虎门"}


def test_inactive_organisation_sees_nothing(client, world):
    user = world["users"][Role.CITY]
    user.organisation.is_active = False
    user.organisation.save()
    client.force_login(user)
    assert client.get(f"/enterprises/{world['own'].pk}/").status_code == 404
