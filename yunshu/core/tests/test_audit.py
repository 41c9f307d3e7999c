import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from yunshu.core.audit import audit_record, audit_verify
from yunshu.core.models import AuditEntry, AuditHead


def _write(n: int) -> None:
    for i in range(n):
        audit_record(
            actor=None, action="test.write", object_type="t", object_id=str(i), after={"i": i}
        )


@pytest.mark.django_db
def test_intact_chain_verifies_and_cli_exits_zero(capsys):
    _write(5)
    count, problem = audit_verify()
    assert problem is None and count == AuditEntry.objects.count() >= 5
    call_command("audit_verify")
    assert "audit chain intact" in capsys.readouterr().out


def _raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_altered_entry_is_named_by_verify():
    _write(5)
    target = AuditEntry.objects.order_by("seq")[2]
    _raw(
        f"UPDATE {AuditEntry._meta.db_table} SET action = %s WHERE id = %s", ["tampered", target.pk]
    )
    _count, problem = audit_verify()
    assert problem is not None and problem.seq == target.seq
    assert "altered" in problem.reason
    with pytest.raises(CommandError, match=f"entry #{target.seq}"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_deleted_entry_is_named_by_verify():
    _write(5)
    victim = AuditEntry.objects.order_by("seq")[2]
    _raw(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = %s", [victim.pk])
    _count, problem = audit_verify()
    assert problem is not None and problem.seq == victim.seq + 1
    assert "missing" in problem.reason


@pytest.mark.django_db
def test_deleted_last_entry_is_caught_by_the_head():
    _write(3)
    last = AuditEntry.objects.order_by("-seq").first()
    _raw(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = %s", [last.pk])
    _count, problem = audit_verify()
    assert problem is not None and problem.seq == last.seq


@pytest.mark.django_db
def test_entry_inserted_out_of_order_is_named_by_verify():
    _write(4)
    entries = list(AuditEntry.objects.order_by("seq"))
    # Swap two entries' positions: each keeps a valid hash, but the links break.
    a, b = entries[1], entries[2]
    table = AuditEntry._meta.db_table
    _raw(f"UPDATE {table} SET seq = %s WHERE id = %s", [10_000_000, a.pk])
    _raw(f"UPDATE {table} SET seq = %s WHERE id = %s", [a.seq, b.pk])
    _raw(f"UPDATE {table} SET seq = %s WHERE id = %s", [b.seq, a.pk])
    _count, problem = audit_verify()
    assert problem is not None and problem.seq == a.seq


@pytest.mark.django_db
def test_audit_entries_refuse_update_and_delete_through_the_orm():
    entry = audit_record(actor=None, action="test.write")
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_writers_leave_one_unforked_chain():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL")
    AuditHead.objects.get_or_create(pk=1)
    before = AuditEntry.objects.count()
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            barrier.wait()
            for i in range(5):
                audit_record(actor=None, action="test.concurrent", object_id=f"{k}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert AuditEntry.objects.count() == before + 100
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert AuditEntry.objects.values("prev_hash").distinct().count() == len(seqs)  # no fork
    assert audit_verify()[1] is None


@pytest.mark.postgres
@pytest.mark.django_db
def test_audit_values_are_compressed_with_lz4_on_postgresql() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, attcompression FROM pg_attribute"
            " WHERE attrelid = 'core_auditentry'::regclass AND attname IN ('before', 'after')"
        )
        assert dict(cursor.fetchall()) == {"before": "l", "after": "l"}
