"""COPY for bulk writes on PostgreSQL (imports, audit batches, generators).

Django's bulk_create quotes every value client-side into one huge statement; COPY streams
rows in the driver's binary-free text format and is several times faster at scale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk.column, len(objs)],
        )
        ids = [row[0] for row in cursor.fetchall()]
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
