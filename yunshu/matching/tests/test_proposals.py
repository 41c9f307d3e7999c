"""Proposals: sent only to consenting enterprises, one transition table, audited, notified both
ways, and never doubled by a double click."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connections
from django.http import Http404
from django.utils import timezone

from yunshu.core.models import AuditEntry, Notification
from yunshu.factories import EnterpriseFactory, product
from yunshu.matching import proposals
from yunshu.matching.models import Proposal
from yunshu.matching.proposals import TRANSITIONS, proposal_send, proposal_transition

from .consent_world import make_world, proposal, share

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    world = make_world()
    share(world)
    return world


def _send(w, **kw):
    fields = {
        "enterprise": w.enterprise,
        "by": w.provider_user,
        "title": "质量管理上云方案",
        "body": "上线质量追溯系统，六周交付",
        "price_yuan": Decimal("58000.00"),
        "weeks": 6,
    }
    fields.update(kw)
    return proposal_send(**fields)


# -- the table ---------------------------------------------------------------------------------


def test_the_table_is_the_whole_workflow():
    assert TRANSITIONS == {
        ("", "send"): ("sent", "provider"),
        ("sent", "accept"): ("accepted", "enterprise"),
        ("sent", "decline"): ("declined", "enterprise"),
        ("sent", "withdraw"): ("withdrawn", "provider"),
        ("accepted", "deliver"): ("delivered", "enterprise"),
    }


@pytest.mark.parametrize(
    ("path", "final"),
    [
        (["accept"], "accepted"),
        (["decline"], "declined"),
        (["withdraw"], "withdrawn"),
        (["accept", "deliver"], "delivered"),
    ],
)
def test_each_path_through_the_table_ends_in_its_state_with_one_audit_entry_per_step(
    w, path, final
):
    p = _send(w)
    for action in path:
        by = w.provider_user if action == "withdraw" else w.owner
        p = proposal_transition(proposal=p, action=action, by=by)
    p.refresh_from_db()
    assert p.state == final
    actions = list(
        AuditEntry.objects.filter(object_type="matching.proposal", object_id=str(p.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["proposal.send"] + [f"proposal.{a}" for a in path]


@pytest.mark.parametrize("action", ["accept", "decline", "deliver"])
def test_the_provider_cannot_take_the_enterprises_actions(w, action):
    p = _send(w)
    if action == "deliver":
        p = proposal_transition(proposal=p, action="accept", by=w.owner)
    with pytest.raises(Http404):
        proposal_transition(proposal=p, action=action, by=w.provider_user)


def test_the_enterprise_cannot_withdraw_and_outsiders_get_a_404(w):
    p = _send(w)
    with pytest.raises(Http404):
        proposal_transition(proposal=p, action="withdraw", by=w.owner)
    for role, user in w.users.items():
        if role in ("enterprise", "provider"):
            continue
        with pytest.raises(Http404):
            proposal_transition(proposal=p, action="accept", by=user)
    assert Proposal.objects.get().state == "sent"


def test_a_move_the_table_lacks_is_refused_with_the_state_named(w):
    p = proposal_transition(proposal=_send(w), action="decline", by=w.owner)
    with pytest.raises(ValidationError) as exc:
        proposal_transition(proposal=p, action="deliver", by=w.owner)
    assert "已婉拒" in exc.value.messages[0]
    with pytest.raises(ValidationError):
        proposal_transition(proposal=p, action="accept", by=w.owner)
    assert Proposal.objects.get().state == "declined"


def test_repeating_an_action_is_a_double_click_and_changes_nothing(w):
    p = _send(w)
    proposal_transition(proposal=p, action="accept", by=w.owner, note="好")
    again = proposal_transition(proposal=p, action="accept", by=w.owner, note="再点一次")
    assert again.state == "accepted" and again.decision_note == "好"
    assert AuditEntry.objects.filter(action="proposal.accept").count() == 1
    assert Notification.objects.filter(recipient=w.provider_user).count() == 1


def test_the_decision_note_and_times_are_kept(w):
    p = proposal_transition(proposal=_send(w), action="decline", by=w.owner, note="预算不足")
    assert p.decision_note == "预算不足" and p.decided_at is not None
    p2 = _send(w, title="另一个方案")
    p2 = proposal_transition(proposal=p2, action="accept", by=w.owner)
    p2 = proposal_transition(proposal=p2, action="deliver", by=w.owner)
    assert p2.delivered_at is not None


def test_actions_for_shows_each_party_only_its_own_buttons(w):
    p = _send(w)
    assert proposals.actions_for(w.owner, p) == ["accept", "decline"]
    assert proposals.actions_for(w.provider_user, p) == ["withdraw"]
    assert proposals.actions_for(w.users["city"], p) == []
    p = proposal_transition(proposal=p, action="accept", by=w.owner)
    assert proposals.actions_for(w.owner, p) == ["deliver"]
    assert proposals.actions_for(w.provider_user, p) == []


# -- sending -----------------------------------------------------------------------------------


def test_sending_notifies_the_enterprise_and_deciding_notifies_the_provider(w):
    p = _send(w)
    note = Notification.objects.get(recipient=w.owner)
    assert p.title in note.subject and note.url == f"/matching/proposals/{p.pk}/"
    proposal_transition(proposal=p, action="accept", by=w.owner)
    assert "接受" in Notification.objects.get(recipient=w.provider_user).subject


def test_withdrawing_notifies_the_enterprise(w):
    p = _send(w)
    proposal_transition(proposal=p, action="withdraw", by=w.provider_user, note="报价有误")
    latest = Notification.objects.filter(recipient=w.owner).order_by("-id").first()
    assert "撤回" in latest.subject and latest.body == "报价有误"


def test_a_proposal_needs_an_active_profile_grant(w):
    stranger = EnterpriseFactory()
    with pytest.raises(Http404):
        _send(w, enterprise=stranger)
    assessments_only = EnterpriseFactory()
    share(w, enterprise=assessments_only, scope_profile=False, scope_assessments=True)
    with pytest.raises(Http404):
        _send(w, enterprise=assessments_only)
    expired = EnterpriseFactory()
    share(w, enterprise=expired, expires_at=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(Http404):
        _send(w, enterprise=expired)
    assert not Proposal.objects.exists()


def test_a_provider_outside_the_pool_cannot_send_even_with_a_grant(w):
    from django.http import Http404

    from yunshu.factories import grant, provider_user

    pending_user = provider_user(w.pending_provider)
    grant(w.enterprise, pending_user)
    # Outside the pool its grants are not in force: the enterprise does not exist for it.
    with pytest.raises(Http404):
        _send(w, by=pending_user)
    assert not Proposal.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "  "}, "title"),
        ({"body": ""}, "body"),
        ({"price_yuan": Decimal("-1")}, "price_yuan"),
        ({"price_yuan": Decimal("1.005")}, "price_yuan"),
        ({"price_yuan": "abc"}, "price_yuan"),
        ({"price_yuan": Decimal("1e12")}, "price_yuan"),
        ({"weeks": 0}, "weeks"),
        ({"weeks": 200}, "weeks"),
    ],
)
def test_bad_input_names_the_field_and_sends_nothing(w, change, field):
    with pytest.raises(ValidationError) as exc:
        _send(w, **change)
    assert field in exc.value.message_dict
    assert not Proposal.objects.exists()


def test_only_the_providers_own_product_can_be_attached(w):
    own = product(w.provider)
    theirs = product(w.other_provider)
    with pytest.raises(ValidationError) as exc:
        _send(w, product=theirs)
    assert "product" in exc.value.message_dict
    assert _send(w, product=own).product == own


def test_a_price_of_zero_is_allowed(w):
    assert _send(w, price_yuan=Decimal("0")).price_yuan == Decimal("0.00")


def test_a_second_identical_send_returns_the_first_proposal(w):
    first = _send(w)
    second = _send(w)
    assert first.pk == second.pk and Proposal.objects.count() == 1
    assert AuditEntry.objects.filter(action="proposal.send").count() == 1


def test_the_same_title_with_other_content_while_open_is_refused_by_name(w):
    _send(w)
    with pytest.raises(ValidationError) as exc:
        _send(w, price_yuan=Decimal("1"))
    assert "title" in exc.value.message_dict
    assert Proposal.objects.count() == 1


def test_after_a_withdrawal_the_same_title_can_be_sent_again(w):
    p = _send(w)
    proposal_transition(proposal=p, action="withdraw", by=w.provider_user)
    assert _send(w).pk != p.pk


# -- pages -------------------------------------------------------------------------------------


def test_posting_the_proposal_form_twice_makes_one_proposal(client, w):
    client.force_login(w.provider_user)
    data = {"title": "设备管理方案", "body": "设备联网", "price_yuan": "12000.50", "weeks": "4"}
    first = client.post(f"/matching/proposals/new/{w.enterprise.pk}/", data)
    second = client.post(f"/matching/proposals/new/{w.enterprise.pk}/", data)
    p = Proposal.objects.get()
    assert first.url == second.url == f"/matching/proposals/{p.pk}/"
    assert p.price_yuan == Decimal("12000.50")


def test_a_bad_price_on_the_form_is_shown_and_nothing_is_sent(client, w):
    client.force_login(w.provider_user)
    response = client.post(
        f"/matching/proposals/new/{w.enterprise.pk}/",
        {"title": "t", "body": "b", "price_yuan": "-5", "weeks": "4"},
    )
    assert response.status_code == 200 and "price_yuan" in response.context["form"].errors
    assert not Proposal.objects.exists()


def test_the_enterprise_sees_received_proposals_and_accepts_with_a_note(client, w):
    p = proposal(w)
    client.force_login(w.owner)
    listing = client.get("/matching/proposals/")
    assert [x.pk for x in listing.context["page"]] == [p.pk]
    assert "收到的方案" in listing.content.decode()
    page = client.get(f"/matching/proposals/{p.pk}/")
    assert [a for a, _label, _confirm in page.context["actions"]] == ["accept", "decline"]
    client.post(f"/matching/proposals/{p.pk}/accept/", {"note": "请尽快启动"})
    p.refresh_from_db()
    assert p.state == "accepted" and p.decision_note == "请尽快启动"


def test_declining_and_confirming_delivery_ask_for_confirmation_first(client, w):
    sent = proposal(w)
    client.force_login(w.owner)
    html = client.get(f"/matching/proposals/{sent.pk}/").content.decode()
    decline = html[html.index('data-testid="action-decline"') :].split(">")[0]
    assert 'data-confirm="确定婉拒该方案？婉拒后不能撤销' in decline and "confirm(" in decline
    accept = html[html.index('data-testid="action-accept"') :].split(">")[0]
    assert "data-confirm" not in accept
    accepted = proposal(w, state="accepted", title="已接受的方案")
    html = client.get(f"/matching/proposals/{accepted.pk}/").content.decode()
    deliver = html[html.index('data-testid="action-deliver"') :].split(">")[0]
    assert 'data-confirm="确认服务商已按方案交付、验收合格？确认验收后不能撤销。"' in deliver


def test_prices_are_shown_as_yuan_with_thousands_separators(client, w):
    p = proposal(w, price_yuan=Decimal("68000.00"))
    client.force_login(w.owner)
    assert "¥68,000" in client.get("/matching/proposals/").content.decode()
    html = client.get(f"/matching/proposals/{p.pk}/").content.decode()
    assert "¥68,000" in html and "68000.00" not in html


def test_a_refused_move_on_the_page_shows_the_reason(client, w):
    p = proposal(w, state="declined")
    client.force_login(w.owner)
    response = client.post(f"/matching/proposals/{p.pk}/deliver/", follow=True)
    assert "不能" in response.content.decode()
    p.refresh_from_db()
    assert p.state == "declined"


def test_an_unknown_action_is_refused(client, w):
    p = proposal(w)
    client.force_login(w.owner)
    client.post(f"/matching/proposals/{p.pk}/approve/")
    p.refresh_from_db()
    assert p.state == "sent"


def test_proposal_list_filters_by_state(client, w):
    proposal(w, title="a")
    proposal(w, title="b", state="accepted")
    proposal(w, title="c", state="declined")
    client.force_login(w.provider_user)

    def titles(q):
        return sorted(p.title for p in client.get(f"/matching/proposals/{q}").context["page"])

    assert titles("") == ["a", "b", "c"]
    assert titles("?state=open") == ["a"]
    assert titles("?state=accepted") == ["b"]
    assert titles("?state=closed") == ["c"]


def test_the_list_costs_the_same_queries_for_3_and_30_proposals(client, w):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(w.owner)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/matching/proposals/").status_code == 200
        return len(ctx.captured_queries)

    for i in range(3):
        proposal(w, title=f"p{i}", state="delivered")
    few = count()
    for i in range(3, 30):
        proposal(w, title=f"p{i}", state="delivered")
    assert count() == few


# -- concurrency (PostgreSQL) ------------------------------------------------------------------


def _race(n, fn):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run(k):
        try:
            barrier.wait()
            results.append(fn(k))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_sends_make_one_proposal(reference_data):
    w = make_world()
    share(w)
    results, errors = _race(5, lambda _k: _send(w).pk)
    assert errors == []
    assert len(set(results)) == 1 and Proposal.objects.count() == 1
    assert AuditEntry.objects.filter(action="proposal.send").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_accept_and_decline_leave_exactly_one_decision(reference_data):
    w = make_world()
    share(w)
    p = _send(w)
    actions = ["accept", "decline"] * 3
    _results, errors = _race(
        6, lambda k: proposal_transition(proposal=p, action=actions[k], by=w.owner).state
    )
    p.refresh_from_db()
    assert p.state in ("accepted", "declined")
    assert (
        AuditEntry.objects.filter(action__in=["proposal.accept", "proposal.decline"]).count() == 1
    )
    # The losers either saw their own decision already made, or were refused with a reason.
    assert all(isinstance(e, ValidationError) for e in errors)


def test_the_other_party_repeating_an_action_already_done_still_gets_a_404(w):
    p = proposal_transition(proposal=_send(w), action="accept", by=w.owner)
    with pytest.raises(Http404):
        proposal_transition(proposal=p, action="accept", by=w.provider_user)
