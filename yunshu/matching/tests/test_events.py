import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from yunshu.accounts.models import Role
from yunshu.core.audit import audit_verify
from yunshu.core.models import AuditEntry, Notification
from yunshu.factories import product, provider, provider_user, town, user_for
from yunshu.matching import events as ev
from yunshu.matching import supply
from yunshu.matching.models import (
    EventInvitation,
    EventOutcome,
    MatchmakingEvent,
    MatchRun,
    Recommendation,
)
from yunshu.matching.tests.supply_factories import assessed, cluster, event, held

pytestmark = pytest.mark.django_db
S = MatchmakingEvent.State


@pytest.fixture
def city():
    return user_for(Role.CITY)


def opened(by, **kw):
    e = event(by, **kw)
    return ev.event_transition(event=e, action="open", by=by)


def invited_enterprise(e, by, **kw):
    ent = assessed({"quality": 1}, account=True, **kw)
    ev.event_invite(event=e, organisation_ids=[ent.organisation.pk], by=by)
    return ent


# --- the transition table ---------------------------------------------------------------------


def test_transition_table_is_draft_open_closed_done_with_cancel_from_the_first_three():
    assert {(f, a): t.target for (f, a), t in ev.TRANSITIONS.items()} == {
        (S.DRAFT, "open"): S.OPEN,
        (S.OPEN, "close"): S.CLOSED,
        (S.CLOSED, "finish"): S.DONE,
        (S.DRAFT, "cancel"): S.CANCELLED,
        (S.OPEN, "cancel"): S.CANCELLED,
        (S.CLOSED, "cancel"): S.CANCELLED,
    }


def test_event_walks_through_its_states_and_each_step_is_audited(city):
    e = event(city)
    assert e.state == S.DRAFT
    for action, state in [("open", S.OPEN), ("close", S.CLOSED), ("finish", S.DONE)]:
        if action == "finish":
            held(e)
        e = ev.event_transition(event=e, action=action, by=city)
        assert e.state == state
    actions = list(
        AuditEntry.objects.filter(object_type="matching.matchmakingevent").values_list(
            "action", flat=True
        )
    )
    assert actions == ["event.create", "event.open", "event.close", "event.finish"]
    assert audit_verify()[1] is None


@pytest.mark.parametrize("state", [S.DONE, S.CANCELLED])
def test_done_and_cancelled_events_accept_no_transition(city, state):
    e = event(city)
    MatchmakingEvent.objects.filter(pk=e.pk).update(state=state)
    for action in ("open", "close", "finish", "cancel"):
        with pytest.raises(ValidationError):
            ev.event_transition(event=e, action=action, by=city)
    assert MatchmakingEvent.objects.get(pk=e.pk).state == state


def test_a_step_out_of_order_changes_nothing(city):
    e = event(city)
    with pytest.raises(ValidationError):
        ev.event_transition(event=e, action="finish", by=city)
    assert MatchmakingEvent.objects.get(pk=e.pk).state == S.DRAFT


def test_invitees_are_told_when_it_opens_and_when_it_is_cancelled_except_those_who_declined(city):
    e = event(city)
    a = invited_enterprise(e, city)
    b = invited_enterprise(e, city)
    assert not Notification.objects.exists()  # a draft tells nobody
    ev.event_transition(event=e, action="open", by=city)
    assert set(Notification.objects.values_list("recipient_id", flat=True)) == {
        a.user.pk,
        b.user.pk,
    }
    assert Notification.objects.first().url == f"/matching/events/{e.pk}/"
    ev.event_decline(event=e, by=b.user)
    Notification.objects.all().delete()
    ev.event_transition(event=e, action="cancel", by=city)
    assert list(Notification.objects.values_list("recipient_id", flat=True)) == [a.user.pk]
    assert "取消" in Notification.objects.get().subject


def test_town_officer_runs_its_own_towns_events_only(city):
    humen = user_for(Role.TOWN, town_name="虎门")
    mine = event(humen)
    assert mine.town == town("虎门")  # defaults to the officer's own town
    with pytest.raises(ValidationError) as err:
        event(humen, town=town("长安"), title="别的镇")
    assert "town" in err.value.message_dict
    other = event(city, town=town("长安"), title="长安专场")
    with pytest.raises(Http404):
        ev.event_transition(event=other, action="open", by=humen)
    ev.event_transition(event=mine, action="open", by=humen)
    assert set(ev.events_visible_to(humen)) == {mine}


def test_creating_the_same_event_twice_returns_the_first(city):
    when = timezone.now() + dt.timedelta(days=3)
    first = event(city, starts_at=when)
    assert event(city, starts_at=when) == first
    assert MatchmakingEvent.objects.count() == 1
    with pytest.raises(ValidationError):
        event(user_for(Role.CITY), starts_at=when)  # another officer, same cluster, title, time


def test_bad_event_input_is_refused_field_by_field(city):
    with pytest.raises(ValidationError) as err:
        event(
            city,
            title=" ",
            venue="",
            capacity=0,
            starts_at=timezone.now() - dt.timedelta(hours=1),
        )
    assert set(err.value.message_dict) == {"title", "venue", "capacity", "starts_at"}
    assert not MatchmakingEvent.objects.exists()


def test_capacity_cannot_drop_below_the_registrations(city):
    e = opened(city, capacity=5)
    for _ in range(2):
        ent = invited_enterprise(e, city)
        ev.event_register(event=e, attendee_name="张三", attendee_phone="13800000000", by=ent.user)
    fields = {
        "cluster": e.cluster,
        "title": e.title,
        "starts_at": e.starts_at,
        "venue": e.venue,
        "town": e.town,
    }
    with pytest.raises(ValidationError) as err:
        ev.event_update(event=e, by=city, capacity=1, **fields)
    assert "capacity" in err.value.message_dict
    ev.event_update(event=e, by=city, capacity=2, **fields)
    assert MatchmakingEvent.objects.get(pk=e.pk).capacity == 2


# --- invitations ------------------------------------------------------------------------------


def test_invite_proposes_the_clusters_enterprises_with_gaps_and_providers_for_it(city):
    e = event(city)
    gap = assessed({"quality": 1}, account=True)
    assessed({}, account=True)  # no gap
    offline = assessed({"energy": 0})  # no account
    assessed({"quality": 1}, account=True, cluster_key="furniture")  # other cluster
    serving = provider(name="服务纺织的云")
    serving.clusters_served.add(cluster("textile"))
    with_product = provider(name="有纺织产品的云")
    product(with_product, scenes={"quality": 2}, clusters=[cluster("textile")])
    product(provider(name="只做家具的云"), scenes={"quality": 2}, clusters=[cluster("furniture")])
    provider(name="待审核的云", state="submitted").clusters_served.add(cluster("textile"))
    online = list(supply.enterprises_with_gaps(city, e.cluster, account=True))
    assert [r["enterprise_id"] for r in online] == [gap.pk]
    assert [
        r["enterprise_id"] for r in supply.enterprises_with_gaps(city, e.cluster, account=False)
    ] == [offline.pk]
    providers = list(supply.providers_for_cluster(e.cluster))
    assert providers == [serving, with_product]


def test_enterprises_are_ranked_by_the_newest_succeeded_runs_recommendations(city):
    e = event(city)
    low = assessed({"quality": 1, "energy": 1, "finance": 1}, account=True)
    high = assessed({"quality": 1}, account=True)
    none = assessed({"quality": 1, "energy": 1}, account=True)
    # No run yet: by the number of gaps.
    order = [r["enterprise_id"] for r in supply.enterprises_with_gaps(city, e.cluster)]
    assert order == [low.pk, none.pk, high.pk]
    prov = provider()
    item = product(prov, scenes={"quality": 2})
    old = MatchRun.objects.create(
        status="succeeded", created_at=timezone.now() - dt.timedelta(days=1)
    )
    run = MatchRun.objects.create(status="succeeded")
    MatchRun.objects.create(status="failed", created_at=timezone.now() + dt.timedelta(hours=1))
    for r, ent, score in [(run, high, 90), (run, low, 40), (old, none, 99)]:
        Recommendation.objects.create(
            run=r, enterprise=ent, rank=1, product=item, provider=prov, score=score
        )
    assert supply.newest_run() == run
    rows = list(supply.enterprises_with_gaps(city, e.cluster, run=supply.newest_run()))
    assert [r["enterprise_id"] for r in rows] == [high.pk, low.pk, none.pk]
    assert rows[0]["top_score"] == 90 and rows[0]["top_product"] == item.name
    assert supply.providers_for_cluster(e.cluster, run=run).first().recommended == 2


def test_inviting_twice_makes_one_invitation_each(city):
    e = event(city)
    ent = assessed({"quality": 1}, account=True)
    prov = provider()
    ids = [ent.organisation.pk, prov.organisation_id]
    assert len(ev.event_invite(event=e, organisation_ids=ids, by=city)) == 2
    assert ev.event_invite(event=e, organisation_ids=ids, by=city) == []
    assert EventInvitation.objects.filter(event=e).count() == 2


def test_invitations_sent_while_open_are_notified_at_once(city):
    e = opened(city)
    ent = invited_enterprise(e, city)
    assert Notification.objects.filter(recipient=ent.user).count() == 1


def test_invite_refuses_what_the_officer_may_not_invite_and_changes_nothing(city):
    humen = user_for(Role.TOWN, town_name="虎门")
    e = event(humen)
    elsewhere = assessed({"quality": 1}, account=True, town_name="长安")
    pending = provider(state="submitted")
    college = user_for(Role.COLLEGE).organisation
    for org_id in (elsewhere.organisation.pk, pending.organisation_id, college.pk, 999999):
        with pytest.raises(ValidationError):
            ev.event_invite(event=e, organisation_ids=[org_id], by=humen)
    assert not EventInvitation.objects.exists()


@pytest.mark.parametrize("state", [S.CLOSED, S.DONE, S.CANCELLED])
def test_no_invitations_once_registration_has_closed(city, state):
    e = event(city)
    MatchmakingEvent.objects.filter(pk=e.pk).update(state=state)
    ent = assessed({"quality": 1}, account=True)
    with pytest.raises(ValidationError):
        ev.event_invite(event=e, organisation_ids=[ent.organisation.pk], by=city)


# --- registration -----------------------------------------------------------------------------


def test_an_invited_enterprise_registers_once_however_often_it_clicks(city):
    e = opened(city)
    ent = invited_enterprise(e, city)
    for _ in range(3):
        ev.event_register(
            event=e, attendee_name="李四", attendee_phone="0769-12345678", by=ent.user
        )
    inv = EventInvitation.objects.get(event=e)
    assert inv.status == "registered" and inv.attendee_name == "李四"
    assert AuditEntry.objects.filter(action="event.register").count() == 1


def test_registration_never_exceeds_the_capacity(city):
    e = opened(city, capacity=2)
    people = [invited_enterprise(e, city) for _ in range(3)]
    for p in people[:2]:
        ev.event_register(event=e, attendee_name="王五", attendee_phone="13800000001", by=p.user)
    with pytest.raises(ValidationError) as err:
        ev.event_register(
            event=e, attendee_name="赵六", attendee_phone="13800000002", by=people[2].user
        )
    assert "名额已满" in str(err.value)
    ev.event_decline(event=e, by=people[0].user)  # gives its seat back
    ev.event_register(
        event=e, attendee_name="赵六", attendee_phone="13800000002", by=people[2].user
    )
    assert EventInvitation.objects.filter(event=e, status="registered").count() == 2


def test_registration_checks_name_and_phone(city):
    e = opened(city)
    ent = invited_enterprise(e, city)
    with pytest.raises(ValidationError) as err:
        ev.event_register(event=e, attendee_name=" ", attendee_phone="abc", by=ent.user)
    assert set(err.value.message_dict) == {"attendee_name", "attendee_phone"}
    assert EventInvitation.objects.get(event=e).status == "invited"


@pytest.mark.parametrize("state", [S.CLOSED, S.DONE, S.CANCELLED])
def test_no_registration_unless_open(city, state):
    e = opened(city)
    ent = invited_enterprise(e, city)
    MatchmakingEvent.objects.filter(pk=e.pk).update(state=state)
    with pytest.raises(ValidationError):
        ev.event_register(event=e, attendee_name="张三", attendee_phone="13800000000", by=ent.user)


def test_an_enterprise_of_the_cluster_may_register_for_an_open_event_uninvited(city):
    e = opened(city)
    ent = assessed({}, account=True)
    inv = ev.event_register(
        event=e, attendee_name="张三", attendee_phone="13800000000", by=ent.user
    )
    assert inv.status == "registered" and inv.organisation == ent.organisation


def test_others_cannot_see_or_register_for_an_event(city):
    e = event(city)
    invited = invited_enterprise(e, city)
    stranger = assessed({}, account=True, cluster_key="furniture")
    # A draft is the officers' own, even for invitees.
    assert not ev.events_visible_to(invited.user).exists()
    ev.event_transition(event=e, action="open", by=city)
    assert list(ev.events_visible_to(invited.user)) == [e]
    for user in (stranger.user, user_for(Role.EXPERT), user_for(Role.COLLEGE)):
        assert not ev.events_visible_to(user).exists()
        with pytest.raises(Http404):
            ev.event_register(event=e, attendee_name="张三", attendee_phone="13800000000", by=user)


def test_providers_see_open_events_of_clusters_they_serve_and_events_they_are_invited_to(city):
    e = opened(city)
    other = opened(city, cluster_key="food", title="食品专场")
    serving = provider()
    serving.clusters_served.add(cluster("textile"))
    outside = provider()
    pending = provider(state="submitted")
    pending.clusters_served.add(cluster("textile"))
    assert list(ev.events_visible_to(provider_user(serving))) == [e]
    assert not ev.events_visible_to(provider_user(pending)).exists()
    ev.event_invite(event=other, organisation_ids=[outside.organisation_id], by=city)
    assert list(ev.events_visible_to(provider_user(outside))) == [other]
    ev.event_transition(event=other, action="close", by=city)
    assert list(ev.events_visible_to(provider_user(outside))) == [other]  # still invited


# --- attendance and outcomes ------------------------------------------------------------------


def done_event(city):
    e = opened(city)
    ent = invited_enterprise(e, city)
    prov = provider()
    ev.event_invite(event=e, organisation_ids=[prov.organisation_id], by=city)
    ev.event_register(event=e, attendee_name="张三", attendee_phone="13800000000", by=ent.user)
    ev.event_transition(event=e, action="close", by=city)
    ev.event_transition(event=held(e), action="finish", by=city)
    return e, ent, prov


def test_attendance_is_marked_and_unmarked(city):
    e, ent, prov = done_event(city)
    inv = EventInvitation.objects.get(event=e, organisation=ent.organisation)
    assert ev.event_attendance_mark(event=e, attended_ids=[inv.pk], by=city) == 1
    assert EventInvitation.objects.get(pk=inv.pk).status == "attended"
    assert ev.event_attendance_mark(event=e, attended_ids=[inv.pk], by=city) == 0
    ev.event_attendance_mark(event=e, attended_ids=[], by=city)
    assert EventInvitation.objects.get(pk=inv.pk).status == "registered"
    foreign = EventInvitation.objects.create(
        event=event(city, title="另一场"), organisation=prov.organisation
    )
    with pytest.raises(ValidationError):
        ev.event_attendance_mark(event=e, attended_ids=[foreign.pk], by=city)


def test_two_contracts_of_one_pair_are_two_rows_and_their_amounts_add_up(city):
    e, ent, prov = done_event(city)
    ev.event_outcome_record(
        event=e, enterprise=ent, provider=prov, kind="intention", note="MES", by=city
    )
    ev.event_outcome_record(
        event=e, enterprise=ent, provider=prov, kind="intention", note="WMS", by=city
    )
    for amount in (Decimal("120000.50"), Decimal("150000")):
        ev.event_outcome_record(
            event=e, enterprise=ent, provider=prov, kind="contract", amount_yuan=amount, by=city
        )
    assert EventOutcome.objects.filter(event=e).count() == 4
    assert sorted(EventOutcome.objects.filter(kind="intention").values_list("note", flat=True)) == [
        "MES",
        "WMS",
    ]
    counted = ev.with_counts(MatchmakingEvent.objects.filter(pk=e.pk)).get()
    assert (counted.n_intentions, counted.n_contracts, counted.contract_amount) == (
        2,
        2,
        Decimal("270000.50"),
    )
    assert (counted.n_invited, counted.n_registered) == (2, 1)
    [totals] = ev.cluster_totals(MatchmakingEvent.objects.filter(pk=e.pk))
    assert (totals["contracts"], totals["amount"]) == (2, Decimal("270000.50"))
    last = EventOutcome.objects.filter(kind="contract").order_by("-pk").first()
    assert ev.earlier_outcomes(last).count() == 1
    assert AuditEntry.objects.filter(action="event.outcome").count() == 4


def test_the_same_outcome_sent_twice_at_once_is_recorded_once(city):
    e, ent, prov = done_event(city)
    for _click in range(2):
        ev.event_outcome_record(
            event=e,
            enterprise=ent,
            provider=prov,
            kind="contract",
            amount_yuan=Decimal(5000),
            by=city,
        )
    assert EventOutcome.objects.filter(event=e).count() == 1


def test_an_event_cannot_be_marked_held_before_it_starts(city):
    e = opened(city)
    ev.event_transition(event=e, action="close", by=city)
    with pytest.raises(ValidationError) as err:
        ev.event_transition(event=e, action="finish", by=city)
    assert "举办后才能标记已举办" in err.value.messages[0]
    assert MatchmakingEvent.objects.get(pk=e.pk).state == S.CLOSED
    assert not AuditEntry.objects.filter(action="event.finish").exists()
    assert ev.event_transition(event=held(e), action="finish", by=city).state == S.DONE


@pytest.mark.parametrize("amount", [Decimal("-1"), Decimal("1.234"), Decimal("NaN")])
def test_a_bad_amount_is_refused(city, amount):
    e, ent, prov = done_event(city)
    with pytest.raises(ValidationError) as err:
        ev.event_outcome_record(
            event=e, enterprise=ent, provider=prov, kind="contract", amount_yuan=amount, by=city
        )
    assert "amount_yuan" in err.value.message_dict
    assert not EventOutcome.objects.exists()


def test_outcomes_only_after_the_event(city):
    e = opened(city)
    ent = invited_enterprise(e, city)
    with pytest.raises(ValidationError):
        ev.event_outcome_record(
            event=e, enterprise=ent, provider=provider(), kind="intention", by=city
        )


def test_town_officer_records_outcomes_only_for_its_own_towns_enterprises():
    humen = user_for(Role.TOWN, town_name="虎门")
    e, ent, prov = done_event(humen)
    elsewhere = assessed({"quality": 1}, town_name="长安")
    with pytest.raises(ValidationError):
        ev.event_outcome_record(
            event=e, enterprise=elsewhere, provider=prov, kind="intention", by=humen
        )
    ev.event_outcome_record(event=e, enterprise=ent, provider=prov, kind="intention", by=humen)


def test_outcome_delete_is_audited(city):
    e, ent, prov = done_event(city)
    o = ev.event_outcome_record(event=e, enterprise=ent, provider=prov, kind="intention", by=city)
    ev.event_outcome_delete(outcome=o, by=city)
    assert not EventOutcome.objects.exists()
    assert AuditEntry.objects.filter(action="event.outcome_delete").exists()


def test_cluster_totals_sum_invitations_and_outcomes_without_cancelled_events(city):
    e, ent, prov = done_event(city)
    inv = EventInvitation.objects.get(event=e, organisation=ent.organisation)
    ev.event_attendance_mark(event=e, attended_ids=[inv.pk], by=city)
    ev.event_outcome_record(
        event=e,
        enterprise=ent,
        provider=prov,
        kind="contract",
        amount_yuan=Decimal("8000"),
        by=city,
    )
    cancelled = opened(city, title="取消的场次")
    invited_enterprise(cancelled, city)
    ev.event_transition(event=cancelled, action="cancel", by=city)
    rows = ev.cluster_totals(ev.events_visible_to(city))
    assert len(rows) == 1
    r = rows[0]
    assert r["cluster"] == cluster("textile")
    assert (r["events"], r["invited"], r["registered"], r["attended"]) == (1, 2, 1, 1)
    assert (r["intentions"], r["contracts"], r["amount"]) == (0, 1, Decimal("8000"))
