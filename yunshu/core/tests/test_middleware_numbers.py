"""Numbers too large for the database are bad input (400 with a message), never a 500."""

import pytest

from yunshu.accounts.models import Role
from yunshu.factories import user_for

pytestmark = pytest.mark.django_db
BIG = "99999999999999999999"


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (None, f"/catalogue/compare/?ids={BIG}"),
        (None, f"/catalogue/compare/?ids=1,{BIG}"),
        (Role.CITY, f"/providers/platforms/?provider={BIG}"),
        (Role.ENTERPRISE, f"/providers/complaints/new/?provider={BIG}"),
    ],
)
def test_a_number_too_large_for_the_database_is_a_bad_request_not_a_server_error(client, role, url):
    if role:
        client.force_login(user_for(role))
    response = client.get(url)
    assert response.status_code in (200, 400, 404)
    if response.status_code == 400:
        assert "超出了允许的范围" in response.content.decode()
