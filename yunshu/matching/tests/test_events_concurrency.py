"""Registrations racing for the last seats, on PostgreSQL (row locks are real there)."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from yunshu.accounts.models import Role
from yunshu.factories import user_for
from yunshu.matching import events as ev
from yunshu.matching.models import EventInvitation
from yunshu.matching.tests.supply_factories import assessed, event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(calls):
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(call):
        try:
            barrier.wait()
            call()
            result = "ok"
        except ValidationError:
            result = "refused"
        except BaseException as exc:  # pragma: no cover - reported by the assertion
            result = repr(exc)
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_concurrent_registrations_never_exceed_the_capacity(reference_data):
    assert connection.vendor == "postgresql"
    city = user_for(Role.CITY)
    e = event(city, capacity=3)
    people = [assessed({"quality": 1}, account=True) for _ in range(12)]
    ev.event_invite(event=e, organisation_ids=[p.organisation.pk for p in people], by=city)
    ev.event_transition(event=e, action="open", by=city)

    def register(user):
        return lambda: ev.event_register(
            event=e, attendee_name="张三", attendee_phone="13800000000", by=user
        )

    outcomes = race([register(p.user) for p in people])
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 9
    assert EventInvitation.objects.filter(event=e, status="registered").count() == 3


def test_a_concurrent_double_click_registers_once(reference_data):
    city = user_for(Role.CITY)
    e = event(city, capacity=5)
    ent = assessed({}, account=True)  # not invited: registering makes its invitation
    ev.event_transition(event=e, action="open", by=city)
    outcomes = race(
        [
            lambda: ev.event_register(
                event=e, attendee_name="张三", attendee_phone="13800000000", by=ent.user
            )
        ]
        * 6
    )
    assert outcomes == ["ok"] * 6
    assert EventInvitation.objects.filter(event=e).count() == 1
