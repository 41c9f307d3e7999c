"""A prepared query gives what its ORM queryset gives, for any values, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yunshu.accounts.backends import OrganisationModelBackend
from yunshu.accounts.models import User
from yunshu.core.models import DataVersion, Notification
from yunshu.core.notifications import notifications_unread_count
from yunshu.core.prepared import Prepared
from yunshu.core.sessions import SessionStore
from yunshu.core.versions import _bump, data_versions
from yunshu.factories import UserFactory, user_for

pytestmark = pytest.mark.django_db

USER = Prepared(lambda pk: User.objects.select_related("organisation").filter(pk=pk), pk=int)
BY_NAME = Prepared(
    lambda name, town: User.objects.filter(username=name, organisation__town_id=town),
    name=str,
    town=int,
)


def test_objects_equal_the_querysets_with_the_related_row_loaded():
    users = [user_for("city"), user_for("town"), UserFactory(organisation=None)]
    for user in users:
        expected = User.objects.select_related("organisation").get(pk=user.pk)
        (got,) = USER.objects(pk=user.pk)
        fields = [f.attname for f in User._meta.concrete_fields]
        assert [getattr(got, f) for f in fields] == [getattr(expected, f) for f in fields]
        assert got._state.adding is False and got._state.db == "default"
        with CaptureQueriesContext(connection) as queries:
            assert got.organisation == expected.organisation
        assert len(queries) == 0  # loaded with the user, as select_related does


def test_each_call_runs_with_its_own_values_in_every_slot():
    town_officer = user_for("town", town_name="虎门")
    other = user_for("town", town_name="长安")
    tiger = town_officer.organisation.town_id
    assert BY_NAME.objects(name=town_officer.username, town=tiger) == [town_officer]
    assert BY_NAME.objects(name=other.username, town=tiger) == []
    assert BY_NAME.objects(name=other.username, town=other.organisation.town_id) == [other]
    assert USER.first(pk=10**9) is None


def test_values_are_parameters_not_sql():
    user_for("city")
    assert BY_NAME.objects(name="x' OR '1'='1", town=1) == []


def test_count_equals_the_querysets_count():
    user = user_for("city")
    unread = Prepared(
        lambda uid: Notification.objects.filter(recipient_id=uid, read_at=None), uid=int
    )
    assert unread.count(uid=user.pk) == 0
    Notification.objects.create(recipient=user, subject="a")
    Notification.objects.create(recipient=user, subject="b", read_at=timezone.now())
    assert unread.count(uid=user.pk) == 1 == notifications_unread_count(user)


def test_rows_convert_values_as_the_orm_does():
    _bump(("prepared-test",))
    stamp = Prepared(
        lambda: DataVersion.objects.filter(key="prepared-test").values_list("number", "changed_at")
    )
    (row,) = stamp.rows()
    assert row == tuple(
        DataVersion.objects.filter(key="prepared-test").values_list("number", "changed_at")[0]
    )
    assert isinstance(row[1], dt.datetime)  # SQLite stores text; the converter parses it
    assert data_versions(["prepared-test", "never-bumped"]) == {
        "never-bumped": 0,
        "prepared-test": 1,
    }


def test_a_prepared_query_is_counted_like_any_other():
    user = user_for("city")
    with CaptureQueriesContext(connection) as queries:
        USER.objects(pk=user.pk)
    assert len(queries) == 1


def test_placeholders_must_be_int_or_str_and_reach_the_query():
    with pytest.raises(TypeError, match="only int and str"):
        Prepared(lambda when: User.objects.filter(date_joined=when), when=dt.datetime)
    unused = Prepared(lambda pk: User.objects.all(), pk=int)
    with pytest.raises(ValueError, match="do not reach"):
        unused.objects(pk=1)
    with pytest.raises(TypeError, match="expected values"):
        USER.objects(id=1)
    prefix = Prepared(
        lambda name: User.objects.filter(Q(username=name) | Q(username__startswith=name)),
        name=str,
    )
    with pytest.raises(ValueError, match="transformed"):
        prefix.objects(name="a")


def test_no_data_versions_asked_means_none_read():
    with CaptureQueriesContext(connection) as queries:
        assert data_versions([]) == {}
    assert len(queries) == 0


def test_the_session_store_reads_a_live_session_and_ignores_an_expired_one():
    store = SessionStore()
    store[SESSION_KEY] = "42"
    store.save()
    assert SessionStore(store.session_key)[SESSION_KEY] == "42"

    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    expired = SessionStore(store.session_key)
    assert expired.get(SESSION_KEY) is None
    assert expired.session_key is None  # a new one is made on save, as Django's store does


def test_the_backend_loads_the_user_with_the_organisation_and_refuses_the_inactive():
    user = user_for("city")
    backend = OrganisationModelBackend()
    loaded = backend.get_user(str(user.pk))
    assert loaded == user
    assert "organisation" in loaded._state.fields_cache
    assert backend.get_user("not-a-number") is None
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert backend.get_user(user.pk) is None


def test_signing_in_and_out_works_through_the_prepared_session(client):
    user = user_for("city")
    client.force_login(user)
    assert client.get("/").context["user"] == user
    client.logout()
    assert not client.get("/", follow=True).context["user"].is_authenticated
