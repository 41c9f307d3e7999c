"""Ratings: once per delivered proposal, by the enterprise; the provider's count and average
move in the same transaction and never lose a concurrent rating."""

from __future__ import annotations

import threading
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connections
from django.http import Http404

from yunshu.accounts.models import Role
from yunshu.core.models import AuditEntry, Notification
from yunshu.factories import EnterpriseFactory, grant, user_for
from yunshu.matching.models import Rating
from yunshu.matching.ratings import provider_rating_refresh, rating_create
from yunshu.providers.catalogue_version import catalogue_version

from .consent_world import make_world, proposal

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return make_world()


def test_rating_a_delivered_proposal_updates_the_provider_audits_and_notifies(w):
    p = proposal(w, state="delivered")
    before = catalogue_version()
    r = rating_create(proposal=p, by=w.owner, stars=4, comment="交付及时")
    w.provider.refresh_from_db()
    assert (r.stars, r.provider_id, r.enterprise_id) == (4, w.provider.pk, w.enterprise.pk)
    assert w.provider.rating_count == 1 and w.provider.rating_average == Decimal("4.00")
    assert catalogue_version() > before
    assert AuditEntry.objects.filter(action="rating.create", object_id=str(r.pk)).exists()
    assert "4 星" in Notification.objects.get(recipient=w.provider_user).subject


def test_the_average_is_over_all_ratings_rounded_to_cents(w):
    stars = [5, 4, 4]
    for i, n in enumerate(stars):
        e = EnterpriseFactory()
        owner = user_for(Role.ENTERPRISE, enterprise=e)
        rating_create(
            proposal=proposal(w, enterprise=e, state="delivered", title=f"t{i}"), by=owner, stars=n
        )
    w.provider.refresh_from_db()
    assert w.provider.rating_count == 3 and w.provider.rating_average == Decimal("4.33")


@pytest.mark.parametrize("state", ["sent", "accepted", "declined", "withdrawn"])
def test_a_proposal_not_yet_delivered_cannot_be_rated(w, state):
    with pytest.raises(ValidationError):
        rating_create(proposal=proposal(w, state=state), by=w.owner, stars=5)
    assert not Rating.objects.exists()


def test_only_the_enterprise_of_the_proposal_can_rate(w):
    p = proposal(w, state="delivered")
    for role, user in w.users.items():
        if role == "enterprise":
            continue
        with pytest.raises(Http404):
            rating_create(proposal=p, by=user, stars=5)
    with pytest.raises(Http404):
        rating_create(proposal=p, by=make_world().owner, stars=5)
    assert not Rating.objects.exists()


@pytest.mark.parametrize("stars", [0, 6, "x", None])
def test_stars_outside_one_to_five_are_refused(w, stars):
    with pytest.raises(ValidationError) as exc:
        rating_create(proposal=proposal(w, state="delivered"), by=w.owner, stars=stars)
    assert "stars" in exc.value.message_dict
    assert not Rating.objects.exists()


def test_a_proposal_is_rated_once_an_identical_repeat_returns_the_first(w):
    p = proposal(w, state="delivered")
    first = rating_create(proposal=p, by=w.owner, stars=5, comment="好")
    assert rating_create(proposal=p, by=w.owner, stars=5, comment="好").pk == first.pk
    with pytest.raises(ValidationError):
        rating_create(proposal=p, by=w.owner, stars=1, comment="改主意了")
    w.provider.refresh_from_db()
    assert Rating.objects.count() == 1 and w.provider.rating_count == 1
    assert AuditEntry.objects.filter(action="rating.create").count() == 1


def test_refresh_recomputes_from_the_table(w):
    p = proposal(w, state="delivered")
    rating_create(proposal=p, by=w.owner, stars=3)
    type(w.provider).objects.filter(pk=w.provider.pk).update(rating_count=99, rating_average=1)
    assert provider_rating_refresh(w.provider.pk) == (1, Decimal("3.00"))


# -- pages -------------------------------------------------------------------------------------


def test_the_enterprise_rates_on_the_proposal_page_and_sees_its_rating(client, w):
    p = proposal(w, state="delivered")
    client.force_login(w.owner)
    page = client.get(f"/matching/proposals/{p.pk}/")
    assert page.context["rating_form"] is not None
    client.post(f"/matching/ratings/{p.pk}/", {"stars": "5", "comment": "很满意"})
    client.post(f"/matching/ratings/{p.pk}/", {"stars": "5", "comment": "很满意"})
    assert Rating.objects.count() == 1
    page = client.get(f"/matching/proposals/{p.pk}/")
    assert page.context["rating"].stars == 5 and page.context["rating_form"] is None
    assert "很满意" in page.content.decode()


def test_the_provider_sees_its_ratings_and_average(client, w):
    p = proposal(w, state="delivered")
    rating_create(proposal=p, by=w.owner, stars=4, comment="不错")
    client.force_login(w.provider_user)
    response = client.get("/matching/ratings/")
    assert [r.pk for r in response.context["page"]] == [p.rating.pk]
    assert "4.00" in response.content.decode()
    other = user_for(Role.PROVIDER)
    client.force_login(other)
    assert list(client.get("/matching/ratings/").context["page"]) == []


def test_a_rating_without_stars_on_the_page_is_refused(client, w):
    p = proposal(w, state="delivered")
    client.force_login(w.owner)
    response = client.post(f"/matching/ratings/{p.pk}/", {"comment": "?"}, follow=True)
    assert "1 到 5 星" in response.content.decode()
    assert not Rating.objects.exists()


# -- concurrency (PostgreSQL) ------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_ratings_of_one_provider_lose_no_update(reference_data):
    w = make_world()
    n = 8
    jobs = []
    for i in range(n):
        e = EnterpriseFactory()
        owner = user_for(Role.ENTERPRISE, enterprise=e)
        grant(e, w.provider_user)
        jobs.append((proposal(w, enterprise=e, state="delivered", title=f"t{i}"), owner, 1 + i % 5))
    barrier = threading.Barrier(n)
    errors = []

    def rate(k):
        try:
            p, owner, stars = jobs[k]
            barrier.wait()
            rating_create(proposal=p, by=owner, stars=stars)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=rate, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    w.provider.refresh_from_db()
    total = sum(s for _p, _o, s in jobs)
    assert w.provider.rating_count == n
    expected = (Decimal(total) / n).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert w.provider.rating_average == expected


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_clicked_rating_makes_one_row(reference_data):
    w = make_world()
    p = proposal(w, state="delivered")
    barrier = threading.Barrier(4)
    made, errors = [], []

    def click():
        try:
            barrier.wait()
            made.append(rating_create(proposal=p, by=w.owner, stars=5, comment="好").pk)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(made)) == 1
    w.provider.refresh_from_db()
    assert Rating.objects.count() == 1 and w.provider.rating_count == 1
