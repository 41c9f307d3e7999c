"""COPY for bulk writes on PostgreSQL (imports, audit batches, generators).

Django's bulk_create quotes every value client-side into one huge statement; COPY streams
rows in the driver's binary-free text format and is several times faster at scale.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into a table on PostgreSQL, inside the current transaction."""
    assert connection.vendor == "postgresql"
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    n = 0
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY {connection.ops.quote_name(table)} ({cols}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the length of a bulk job.

    A 200,000-row import holds millions of small objects at once (cells, records, audit
    rows) and none of them are in reference cycles, yet the collector walks them again and
    again as they pile up: a sixth of the import's time. Reference counting still frees
    them; the collector resumes, with whatever cycles there were, when the job ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def reserve_ids(table: str, n: int, column: str = "id") -> Sequence[int]:
    """n values drawn from the table's id sequence, for rows a COPY will insert (PostgreSQL).

    The values are drawn on the server and come back as a range when no other session drew
    in between, which is the usual case: sending 200,000 numbers back one row each took
    longer than drawing them."""
    if n <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            # The sequence is looked up once: per row, the look-up costs more than the draw.
            "WITH seq AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS s),"
            " drawn AS (SELECT nextval(seq.s) AS v FROM seq, generate_series(1, %s))"
            " SELECT min(v), max(v), CASE WHEN max(v) - min(v) + 1 = count(*) THEN NULL"
            " ELSE array_agg(v ORDER BY v) END FROM drawn",
            [table, column, n],
        )
        low, high, scattered = cursor.fetchone()
    return scattered if scattered is not None else range(low, high + 1)


def bulk_insert(model: Any, objs: list[Any], *, batch_size: int = 2000) -> None:
    """Insert model instances and give each its primary key: COPY on PostgreSQL (ids reserved
    from the table's sequence first), bulk_create elsewhere. Generators and imports only:
    no save() signals, as with bulk_create."""
    if not objs:
        return
    from .versions import TRACKED, data_changed

    if model in TRACKED:
        data_changed(TRACKED[model])
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=batch_size)
        return
    import json

    from django.db import models

    meta = model._meta
    pk = meta.pk
    ids = reserve_ids(meta.db_table, len(objs), pk.column)
    for obj, new_id in zip(objs, ids, strict=True):
        obj.pk = new_id
    fields = meta.concrete_fields
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}

    def values(obj: Any) -> list[Any]:
        out = []
        for f in fields:
            value = f.pre_save(obj, True)  # fills auto_now_add, as save() would
            if f.attname in json_fields:
                value = None if value is None else json.dumps(value, ensure_ascii=False)
            out.append(value)
        return out

    copy_rows(meta.db_table, [f.column for f in fields], (values(o) for o in objs))


def analyze(*models: Any) -> None:
    """Fresh planner statistics for tables a bulk write just filled.

    Without them the planner still believes a table holds what it held before (an empty table,
    after a first load) and picks plans that scan everything; autovacuum catches up only later,
    and not at all where it is turned off.
    """
    tables: list[str] = []
    for model in models:
        tables.append(model._meta.db_table)
        tables += [
            f.remote_field.through._meta.db_table
            for f in model._meta.local_many_to_many
            if f.remote_field.through._meta.auto_created
        ]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


class deferred_indexes:
    """While a bulk load fills a table that holds fewer rows than it adds, drop its secondary
    indexes, and build them again from the loaded rows at the end.

    PostgreSQL's "Populating a Database" advice: one sort per index after the load costs a
    fraction of updating every index for each row. Primary keys, unique, check and foreign key
    constraints stay, so the load is checked as before; dropping a foreign key would lock the
    table it points to (the towns every page reads) until commit. Everything happens inside
    the caller's transaction: a rollback brings the indexes back untouched. The table itself
    is locked (ACCESS EXCLUSIVE) until commit, which is why this is only for loads at least as
    large as the table, and why a table that is busy past LOCK_WAIT keeps its indexes.

    drop() leaves the transaction's constraints IMMEDIATE (a table with pending deferred checks
    cannot lose an index); the caller sets them back (Django's own check_constraints does the
    same).
    """

    LOCK_WAIT = "3s"

    def __init__(self, model: Any) -> None:
        self.table = model._meta.db_table
        self.indexes: list[tuple[str, str]] = []

    def drop(self) -> bool:
        """Drop the indexes; False (nothing changed) when the table stayed busy too long."""
        from django.db import OperationalError, transaction

        assert connection.vendor == "postgresql"
        assert connection.in_atomic_block, "deferred_indexes needs the caller's transaction"
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SELECT current_setting('lock_timeout')")
            previous = cursor.fetchone()[0]
            try:
                with transaction.atomic():  # a savepoint: a lock that times out undoes only this
                    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [self.LOCK_WAIT])
                    cursor.execute(f"LOCK TABLE {qn(self.table)} IN ACCESS EXCLUSIVE MODE")
                    cursor.execute(
                        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
                        " JOIN pg_class i ON i.oid = x.indexrelid"
                        " WHERE x.indrelid = %s::regclass AND NOT x.indisunique"
                        " AND NOT x.indisprimary"
                        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)",
                        [self.table],
                    )
                    indexes = list(cursor.fetchall())
                    for name, _definition in indexes:
                        cursor.execute(f"DROP INDEX {qn(name)}")
            except OperationalError:
                self.indexes = []
                return False
            finally:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
        self.indexes = indexes
        return True

    def rebuild(self) -> Callable[[], None]:
        """Start building the indexes again on the server, and return the function that waits
        for them (raising what they raised). The caller may go on with work of its own
        meanwhile, but must not use the connection until it has waited."""
        definitions = [definition for _name, definition in self.indexes]
        self.indexes = []
        raw = connection.connection
        assert raw is not None
        failures: list[BaseException] = []

        def build() -> None:
            try:
                with raw.cursor() as cursor:
                    cursor.execute("SELECT current_setting('maintenance_work_mem')")
                    row = cursor.fetchone()
                    assert row is not None
                    # Sorting in memory builds each index in one pass; set back afterwards.
                    cursor.execute("SELECT set_config('maintenance_work_mem', '256MB', true)")
                    for sql in definitions:
                        cursor.execute(sql)
                    cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [row[0]])
            except BaseException as exc:  # handed to the waiting thread
                failures.append(exc)

        thread = threading.Thread(target=build, name="rebuild-indexes", daemon=True)
        thread.start()

        def wait() -> None:
            thread.join()
            if failures:
                with connection.wrap_database_errors:  # as Django's own errors (IntegrityError)
                    raise failures[0]

        return wait
