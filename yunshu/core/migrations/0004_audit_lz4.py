"""Audit `before`/`after` compressed with lz4 on PostgreSQL 14+ built with it.

An import's batch entries hold about 140 KB of JSON each; PostgreSQL's default (pglz)
compressed them at a third of the speed the whole import reads its file. Existing values stay
as they were stored; new ones use lz4. Elsewhere (SQLite, older servers) nothing changes.
"""

from django.db import migrations

COLUMNS = ("before", "after")


def _lz4_available(schema_editor) -> bool:
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def _set(schema_editor, method: str) -> None:
    if not _lz4_available(schema_editor):
        return
    alters = ", ".join(f'ALTER COLUMN "{c}" SET COMPRESSION {method}' for c in COLUMNS)
    schema_editor.execute(f'ALTER TABLE "core_auditentry" {alters}')


def forwards(apps, schema_editor) -> None:
    _set(schema_editor, "lz4")


def backwards(apps, schema_editor) -> None:
    _set(schema_editor, "pglz")


class Migration(migrations.Migration):
    dependencies = [("core", "0003_data_version")]

    operations = [migrations.RunPython(forwards, backwards)]
