"""Bulk-write helpers: ids drawn for COPY, indexes set aside during a load, the collector."""

from __future__ import annotations

import gc

import pytest
from django.db import connection, transaction

from yunshu.core.bulk import collector_paused, deferred_indexes, reserve_ids
from yunshu.enterprises.models import Enterprise
from yunshu.factories import EnterpriseFactory


@pytest.mark.postgres
@pytest.mark.django_db
def test_reserved_ids_are_a_range_when_nobody_drew_in_between() -> None:
    ids = reserve_ids("enterprises_enterprise", 5)
    assert isinstance(ids, range) and len(ids) == 5
    assert EnterpriseFactory().pk == ids[-1] + 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_reserved_ids_are_the_drawn_values_when_they_are_not_consecutive() -> None:
    with connection.cursor() as cursor:
        # The same gaps another session's draws would leave.
        cursor.execute("ALTER SEQUENCE enterprises_enterprise_id_seq INCREMENT BY 3")
    ids = reserve_ids("enterprises_enterprise", 4)
    assert list(ids) == [ids[0] + 3 * i for i in range(4)]
    assert reserve_ids("enterprises_enterprise", 0) == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_deferred_indexes_come_back_identical_and_checked() -> None:
    def definitions() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'enterprises_enterprise'"
                " UNION ALL SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = 'enterprises_enterprise'::regclass ORDER BY 1"
            )
            return [row[0] for row in cursor.fetchall()]

    def setting(name: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting(%s)", [name])
            return str(cursor.fetchone()[0])

    before = definitions()
    settings_before = setting("lock_timeout"), setting("maintenance_work_mem")
    EnterpriseFactory()  # a pending deferred check in the transaction: drop() must cope
    with transaction.atomic():
        deferred = deferred_indexes(Enterprise)
        assert deferred.drop()
        dropped = definitions()
        assert len(dropped) < len(before)
        assert sum("FOREIGN KEY" in d for d in dropped) == sum("FOREIGN KEY" in d for d in before)
        EnterpriseFactory()
        deferred.rebuild()()
    assert definitions() == before
    assert (setting("lock_timeout"), setting("maintenance_work_mem")) == settings_before


def test_the_collector_is_paused_only_inside_and_restored_after_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError
    assert gc.isenabled()
