"""Sharing with a provider (on the foundation's DataGrant), revoking, and what a provider then
sees: only consenting enterprises, only within the scope, only while the grant lasts."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connections
from django.http import Http404
from django.utils import timezone

from yunshu.assessments.selectors import assessments_visible_to
from yunshu.core.models import AuditEntry, Notification
from yunshu.enterprises.models import AccessLogEntry, DataGrant
from yunshu.enterprises.selectors import enterprises_visible_to
from yunshu.factories import EnterpriseFactory
from yunshu.matching import consent

from .consent_world import make_world, maturity_result, share

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return make_world()


def _share(w, **kw):
    fields = {
        "enterprise": w.enterprise,
        "provider": w.provider,
        "by": w.owner,
        "expires_on": consent.share_default_expiry(),
        "scope_profile": True,
        "scope_assessments": False,
        "purpose": "数字化诊断",
    }
    fields.update(kw)
    return consent.share_create(**fields)


# -- the service -------------------------------------------------------------------------------


def test_sharing_creates_a_grant_through_grant_create_audited_and_notified(w):
    g = _share(w, scope_assessments=True)
    assert g.provider_id == w.provider.organisation_id and g.source == "enterprise"
    assert g.scope_profile and g.scope_assessments and g.granted_by == w.owner
    assert timezone.localtime(g.expires_at).date() == consent.share_default_expiry()
    assert AuditEntry.objects.filter(action="grant.create", object_id=str(g.pk)).exists()
    assert Notification.objects.filter(recipient=w.provider_user).count() == 1


def test_a_second_identical_share_within_seconds_returns_the_first_grant(w):
    first = _share(w)
    second = _share(w)
    assert first.pk == second.pk
    assert DataGrant.objects.filter(enterprise=w.enterprise).count() == 1
    assert AuditEntry.objects.filter(action="grant.create").count() == 1


def test_a_share_with_a_different_scope_is_a_new_grant(w):
    _share(w)
    _share(w, scope_assessments=True)
    assert DataGrant.objects.filter(enterprise=w.enterprise).count() == 2


def test_the_same_share_after_the_double_click_window_is_a_new_grant(w):
    first = _share(w)
    DataGrant.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - dt.timedelta(seconds=consent.DOUBLE_SUBMIT_SECONDS + 1)
    )
    assert _share(w).pk != first.pk


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expires_on": dt.date.today() - dt.timedelta(days=2)}, "expires_on"),
        ({"expires_on": dt.date.today() + dt.timedelta(days=400)}, "expires_on"),
        ({"scope_profile": False, "scope_assessments": False}, "scope_profile"),
        ({"purpose": "x" * 201}, "purpose"),
    ],
)
def test_bad_share_input_names_the_field_and_creates_nothing(w, change, field):
    with pytest.raises(ValidationError) as exc:
        _share(w, **change)
    assert field in exc.value.message_dict
    assert not DataGrant.objects.exists()


def test_only_providers_in_the_pool_can_be_chosen(w):
    with pytest.raises(ValidationError) as exc:
        _share(w, provider=w.pending_provider)
    assert "provider" in exc.value.message_dict
    names = {p.name for p in consent.share_providers()}
    assert w.provider.name in names and w.pending_provider.name not in names


def test_the_expiry_may_be_exactly_one_year_and_lasts_to_the_end_of_that_day(w):
    g = _share(w, expires_on=consent.share_latest_expiry())
    local = timezone.localtime(g.expires_at)
    assert local.date() == consent.share_latest_expiry() and local.hour == 23


def test_nobody_but_the_enterprise_itself_can_share(w):
    for role, user in w.users.items():
        if role == "enterprise":
            continue
        with pytest.raises(Http404):
            _share(w, by=user)
    other = make_world().owner
    with pytest.raises(Http404):
        _share(w, by=other)
    assert not DataGrant.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_shares_make_one_grant(reference_data):
    w = make_world()
    barrier = threading.Barrier(4)
    made, errors = [], []

    def click():
        try:
            barrier.wait()
            made.append(_share(w).pk)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(made)) == 1
    assert DataGrant.objects.filter(enterprise=w.enterprise).count() == 1


# -- what the existing selectors let a provider see (scope, expiry, revocation) -----------------


def test_profile_scope_shows_the_profile_but_not_the_assessments(w):
    maturity_result(w.enterprise)
    share(w, scope_profile=True, scope_assessments=False)
    u = w.provider_user
    assert list(enterprises_visible_to(u, scope="profile")) == [w.enterprise]
    assert not enterprises_visible_to(u, scope="assessments").exists()
    assert not assessments_visible_to(u).exists()


def test_assessments_scope_shows_assessments_but_not_the_profile(w):
    maturity_result(w.enterprise)
    share(w, scope_profile=False, scope_assessments=True)
    u = w.provider_user
    assert not enterprises_visible_to(u, scope="profile").exists()
    assert list(enterprises_visible_to(u, scope="assessments")) == [w.enterprise]
    assert assessments_visible_to(u).count() == 1


def test_an_expired_or_revoked_grant_shows_nothing(w):
    maturity_result(w.enterprise)
    share(w, scope_assessments=True, expires_at=timezone.now() - dt.timedelta(seconds=1))
    other = EnterpriseFactory()
    share(w, enterprise=other, scope_assessments=True, revoked_at=timezone.now())
    u = w.provider_user
    assert not enterprises_visible_to(u, scope="profile").exists()
    assert not enterprises_visible_to(u, scope="assessments").exists()
    assert not assessments_visible_to(u).exists()


def test_a_grant_to_another_provider_shows_this_one_nothing(w):
    from yunshu.factories import provider_user

    share(w)
    stranger = provider_user(w.other_provider)
    assert not enterprises_visible_to(stranger).exists()


# -- the share page ----------------------------------------------------------------------------


def test_share_page_lists_only_approved_providers_and_preselects_the_one_asked_for(client, w):
    client.force_login(w.owner)
    response = client.get(f"/matching/share/?provider={w.other_provider.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    assert w.provider.name in html and w.other_provider.name in html
    assert w.pending_provider.name not in html
    assert response.context["form"].initial["provider"] == w.other_provider.pk
    assert f'value="{w.other_provider.pk}" selected' in html


def test_the_provider_search_returns_matching_options_only(client, w):
    client.force_login(w.owner)
    html = client.get("/matching/share/providers/", {"q": "智造"}).content.decode()
    assert w.other_provider.name in html and w.provider.name not in html
    html = client.get("/matching/share/providers/", {"q": w.provider.uscc[:10]}).content.decode()
    assert w.provider.name in html


def test_posting_the_share_form_twice_creates_one_grant_and_lists_it(client, w):
    client.force_login(w.owner)
    data = {
        "provider": w.provider.pk,
        "scope_profile": "on",
        "scope_assessments": "on",
        "expires_on": str(consent.share_default_expiry()),
        "purpose": "诊断",
    }
    assert client.post("/matching/share/", data).status_code == 302
    assert client.post("/matching/share/", data).status_code == 302
    assert DataGrant.objects.filter(enterprise=w.enterprise).count() == 1
    page = client.get("/matching/share/")
    [(g, status)] = page.context["grants"]
    assert status == "active" and g.scope_assessments


def test_a_share_form_with_too_long_an_expiry_shows_the_error_and_creates_nothing(client, w):
    client.force_login(w.owner)
    response = client.post(
        "/matching/share/",
        {
            "provider": w.provider.pk,
            "scope_profile": "on",
            "expires_on": str(dt.date.today() + dt.timedelta(days=500)),
        },
    )
    assert response.status_code == 200
    assert "expires_on" in response.context["form"].errors
    assert not DataGrant.objects.exists()


def test_share_form_without_any_scope_is_refused(client, w):
    client.force_login(w.owner)
    response = client.post(
        "/matching/share/",
        {"provider": w.provider.pk, "expires_on": str(consent.share_default_expiry())},
    )
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert not DataGrant.objects.exists()


def test_grant_list_shows_active_expired_and_revoked(client, w):
    share(w)
    share(w, expires_at=timezone.now() - dt.timedelta(days=1))
    share(w, revoked_at=timezone.now())
    client.force_login(w.owner)
    statuses = sorted(s for _g, s in client.get("/matching/share/").context["grants"])
    assert statuses == ["active", "expired", "revoked"]


def test_revoking_from_the_page_ends_the_providers_access(client, w):
    g = share(w)
    provider_client = client.__class__()
    provider_client.force_login(w.provider_user)
    assert provider_client.get(f"/enterprises/{w.enterprise.pk}/").status_code == 200
    client.force_login(w.owner)
    assert client.post(f"/matching/share/{g.pk}/revoke/").status_code == 302
    g.refresh_from_db()
    assert g.revoked_at is not None and g.revoked_by == w.owner
    assert provider_client.get(f"/enterprises/{w.enterprise.pk}/").status_code == 404
    assert provider_client.get(f"/matching/proposals/new/{w.enterprise.pk}/").status_code == 404
    # A second click changes nothing.
    assert client.post(f"/matching/share/{g.pk}/revoke/").status_code == 302
    assert AuditEntry.objects.filter(action="grant.revoke").count() == 1


def test_an_enterprise_cannot_revoke_another_enterprises_grant(client, w):
    other = share(w, enterprise=EnterpriseFactory())
    client.force_login(w.owner)
    assert client.post(f"/matching/share/{other.pk}/revoke/").status_code == 404
    assert not DataGrant.objects.exclude(revoked_at=None).exists()


def test_a_city_assignment_is_listed_without_a_revoke_button(client, w):
    assigned = share(w, source="city_assignment", scope_assessments=True)
    client.force_login(w.owner)
    html = client.get("/matching/share/").content.decode()
    assert f'data-testid="grant-{assigned.pk}"' in html
    assert f'data-testid="revoke-{assigned.pk}"' not in html


def test_who_looked_at_my_data_lists_the_providers_views(client, w):
    share(w)
    provider_client = client.__class__()
    provider_client.force_login(w.provider_user)
    provider_client.get(f"/enterprises/{w.enterprise.pk}/")
    client.force_login(w.owner)
    response = client.get("/matching/share/log/")
    assert response.status_code == 200
    [entry] = response.context["page"].object_list
    assert entry.viewer_organisation_id == w.provider.organisation_id
    assert w.provider.name in response.content.decode()
    assert client.get("/matching/share/").context["access_count"] == 1


def test_sharing_and_who_looked_at_my_data_are_in_the_enterprises_menu_and_on_its_dashboard(
    client, w
):
    client.force_login(w.owner)
    home = client.get("/")
    menu = [c["url"] for i in home.context["nav_items"] for c in i.get("children", [i])]
    assert "/matching/share/" in menu and "/matching/share/log/" in menu
    html = home.content.decode()
    card = html[html.index('data-testid="access-log-card"') :].split("</h3>")[0]
    assert 'href="/matching/share/log/"' in card  # the card title is a link
    assert 'data-testid="share-link"' in html
    # Nobody else gets them in the menu.
    client.force_login(w.provider_user)
    menu = [c["url"] for i in client.get("/").context["nav_items"] for c in i.get("children", [i])]
    assert "/matching/share/" not in menu and "/matching/share/log/" not in menu


# -- every provider view of an enterprise on these pages is logged ------------------------------


def test_the_proposal_page_logs_a_profile_view_and_an_assessment_view_when_gaps_show(client, w):
    maturity_result(w.enterprise)
    share(w, scope_assessments=True)
    client.force_login(w.provider_user)
    response = client.get(f"/matching/proposals/new/{w.enterprise.pk}/")
    assert response.status_code == 200
    whats = set(
        AccessLogEntry.objects.filter(enterprise=w.enterprise).values_list("what", flat=True)
    )
    assert whats == {"profile", "assessments"}


def test_the_demand_tab_logs_an_assessment_view_for_each_enterprise_whose_gaps_it_shows(client, w):
    maturity_result(w.enterprise)
    share(w, scope_assessments=True)
    profile_only = EnterpriseFactory()
    maturity_result(profile_only)
    share(w, enterprise=profile_only)
    client.force_login(w.provider_user)
    client.get("/matching/inbox/?tab=demand")
    logged = set(AccessLogEntry.objects.values_list("enterprise_id", "what"))
    assert logged == {(w.enterprise.pk, "assessments")}


def test_a_provider_with_only_the_assessments_scope_cannot_open_the_proposal_page(client, w):
    share(w, scope_profile=False, scope_assessments=True)
    client.force_login(w.provider_user)
    assert client.get(f"/matching/proposals/new/{w.enterprise.pk}/").status_code == 404
    assert not AccessLogEntry.objects.exists()


def test_a_refused_share_form_keeps_the_chosen_provider_selected(client, w, monkeypatch):
    # The select lists only a first page of the pool; this provider is beyond it.
    first_page = consent.share_providers
    monkeypatch.setattr(consent, "share_providers", lambda q="", limit=1: first_page(q=q, limit=1))
    from yunshu.factories import provider

    far = provider(name="龢龢龢 最后一家服务商")
    client.force_login(w.owner)
    assert f'value="{far.pk}"' not in client.get("/matching/share/").content.decode()
    response = client.post(
        "/matching/share/",
        {"provider": far.pk, "expires_on": str(consent.share_default_expiry())},
    )
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert f'value="{far.pk}" selected' in response.content.decode()
