"""The append-only, hash-chained audit log.

Each entry's hash covers its own fields and the previous entry's hash, so altering,
deleting or inserting an entry out of order breaks the chain at that point. Appends lock
the single AuditHead row, so concurrent writers queue and the chain never forks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from .bulk import copy_rows
from .models import AuditEntry, AuditHead

GENESIS = "0" * 64
COPY_COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "before",
    "after",
    "prev_hash",
    "hash",
)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal | dt.date | dt.datetime):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, set):
        return list(value)
    raise TypeError(type(value).__name__)


def _jsonable(value: Any) -> Any:
    """The value as JSON would give it back (a C-speed round trip; large import batches)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:
        return json.loads(json.dumps(value, default=_default))
    except (TypeError, ValueError):
        return _jsonable_slow(value)


def _jsonable_slow(value: Any) -> Any:
    if isinstance(value, Decimal | dt.date | dt.datetime):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {str(k): _jsonable_slow(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable_slow(v) for v in value]
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of a model instance as JSON-ready values (foreign keys as ids)."""
    out: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        out[name] = _jsonable(getattr(instance, attname))
    return out


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, as a (before, after) pair."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def entry_hash(
    *,
    seq: int,
    at: dt.datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    object_label: str,
    before: Any,
    after: Any,
    prev_hash: str,
) -> str:
    payload = json.dumps(
        {
            "seq": seq,
            "at": at.astimezone(dt.UTC).isoformat(),
            "actor_id": actor_id,
            "actor_label": actor_label,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "object_label": object_label,
            "before": before,
            "after": after,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_label: str = "",
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    """Append one entry. Call it inside the service's transaction, so both commit together."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_label = object_label or str(obj)[:200]
    actor_id = getattr(actor, "pk", None)
    actor_label = str(getattr(actor, "username", "") or "system")[:150]
    before, after = _jsonable(before), _jsonable(after)
    with transaction.atomic():
        head, _created = AuditHead.objects.select_for_update().get_or_create(pk=1)
        seq = head.seq + 1
        at = timezone.now()
        digest = entry_hash(
            seq=seq,
            at=at,
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_label=object_label[:200],
            before=before,
            after=after,
            prev_hash=head.hash,
        )
        entry = AuditEntry.objects.create(
            seq=seq,
            at=at,
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_label=object_label[:200],
            before=before,
            after=after,
            prev_hash=head.hash,
            hash=digest,
        )
        AuditHead.objects.filter(pk=1).update(seq=seq, hash=digest)
    return entry


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str


def audit_verify() -> tuple[int, ChainProblem | None]:
    """Walk the chain in order. Returns (entries checked, first problem or None)."""
    expected_seq, prev, count = 1, GENESIS, 0
    for e in AuditEntry.objects.order_by("seq").iterator(chunk_size=5000):
        if e.seq != expected_seq:
            return count, ChainProblem(
                e.seq, f"sequence jumps from #{expected_seq - 1} to #{e.seq}: an entry is missing"
            )
        if e.prev_hash != prev:
            return count, ChainProblem(e.seq, "its previous-hash does not match the entry before")
        recomputed = entry_hash(
            seq=e.seq,
            at=e.at,
            actor_id=e.actor_id,
            actor_label=e.actor_label,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            object_label=e.object_label,
            before=e.before,
            after=e.after,
            prev_hash=e.prev_hash,
        )
        if recomputed != e.hash:
            return count, ChainProblem(e.seq, "its content does not match its hash: it was altered")
        prev, expected_seq, count = e.hash, expected_seq + 1, count + 1
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev):
        return count, ChainProblem(
            expected_seq, f"the chain ends at #{expected_seq - 1} but its head says #{head.seq}"
        )
    return count, None


def _canonical(value: Any) -> str:
    """The JSON text entry_hash would produce for a value (keys sorted, compact, UTF-8)."""
    return json.dumps(
        value, default=_default, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )


def canonical_json(value: Any) -> str:
    """The canonical JSON text an entry's `before` or `after` is hashed and stored as."""
    return _canonical(value)


def audit_record_many(*, actor: Any, entries: list[dict[str, Any]]) -> int:
    """Append many entries under one lock of the head (bulk writes: imports, generators).

    Each dict takes the keyword arguments of audit_record except actor; `before` and `after`
    must use string keys. Each value is serialised once: the same canonical text feeds the
    hash (spliced into the payload exactly as entry_hash lays it out) and the stored column.
    """
    if not entries:
        return 0
    actor_id = getattr(actor, "pk", None)
    actor_label = str(getattr(actor, "username", "") or "system")[:150]
    with transaction.atomic():
        head, _created = AuditHead.objects.select_for_update().get_or_create(pk=1)
        seq, prev = head.seq, head.hash
        at = timezone.now()
        at_text = _canonical(at.astimezone(dt.UTC).isoformat())
        rows: list[tuple[Any, ...]] = []
        for item in entries:
            seq += 1
            action = item["action"]
            object_type = item.get("object_type", "")
            object_id = str(item.get("object_id", ""))
            object_label = str(item.get("object_label", ""))[:200]
            # A caller may hand over the canonical text itself (canonical_json), made while it
            # waited on something else.
            before = (
                item["before_json"] if "before_json" in item else _canonical(item.get("before"))
            )
            after = item["after_json"] if "after_json" in item else _canonical(item.get("after"))
            payload = (
                f'{{"action":{_canonical(action)},"actor_id":{_canonical(actor_id)},'
                f'"actor_label":{_canonical(actor_label)},"after":{after},"at":{at_text},'
                f'"before":{before},"object_id":{_canonical(object_id)},'
                f'"object_label":{_canonical(object_label)},'
                f'"object_type":{_canonical(object_type)},"prev_hash":{_canonical(prev)},'
                f'"seq":{seq}}}'
            )
            digest = hashlib.sha256(payload.encode()).hexdigest()
            rows.append(
                (
                    seq,
                    at,
                    actor_id,
                    actor_label,
                    action,
                    object_type,
                    object_id,
                    object_label,
                    None if before == "null" else before,
                    None if after == "null" else after,
                    prev,
                    digest,
                )
            )
            prev = digest
        if connection.vendor == "postgresql":
            copy_rows(AuditEntry._meta.db_table, COPY_COLUMNS, rows)
        else:
            AuditEntry.objects.bulk_create(
                [
                    AuditEntry(
                        **{
                            **dict(zip(COPY_COLUMNS, r, strict=True)),
                            "before": None if r[8] is None else json.loads(r[8]),
                            "after": None if r[9] is None else json.loads(r[9]),
                        }
                    )
                    for r in rows
                ],
                batch_size=2000,
            )
        AuditHead.objects.filter(pk=1).update(seq=seq, hash=prev)
    return len(rows)
