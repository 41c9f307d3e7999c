"""Data versions, and aggregates cached under them.

Counting 200,000 enterprises for a list page, or the level distribution over every current
assessment, costs tens to hundreds of milliseconds, yet changes only when the data does. Each
kind of data has a counter (DataVersion) that every write to it moves on after it commits,
and such an aggregate is cached under the numbers it was computed with and the exact SQL it
ran (the user's scope included). The next read after a write computes afresh.

The counter moves after commit, not inside the write's transaction: inside, it would hold a
row lock until commit, queueing unrelated writers and risking deadlocks between counters. A
reader that raced a write stored its figure under the old number, which nobody asks for
again. The cache timeout is a safety net for a process that dies between commit and bump.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.functional import cached_property

from .models import DataVersion
from .prepared import Prepared

T = TypeVar("T")
CACHE_SECONDS = 600


def data_changed(*keys: str) -> None:
    """Move these counters on when the current transaction commits (at once outside one)."""
    wanted = tuple(sorted(set(keys)))
    transaction.on_commit(lambda: _bump(wanted))


def _bump(keys: tuple[str, ...]) -> None:
    now = timezone.now()
    for key in keys:
        if not DataVersion.objects.filter(key=key).update(number=F("number") + 1, changed_at=now):
            DataVersion.objects.get_or_create(key=key, defaults={"number": 1})


def data_versions(keys: Iterable[str]) -> dict[str, int]:
    wanted = tuple(sorted(set(keys)))
    if not wanted:
        return {}
    query = _VERSION_QUERIES.get(wanted)
    if query is None:
        # Read on most list pages: one compiled query per set of keys (core.prepared).
        query = _VERSION_QUERIES[wanted] = Prepared(
            lambda: DataVersion.objects.filter(key__in=wanted).values_list("key", "number")
        )
    found = dict(query.rows())
    return {k: int(found.get(k, 0)) for k in wanted}


_VERSION_QUERIES: dict[tuple[str, ...], Prepared] = {}


def cached_under(keys: Iterable[str], name: str, key: str, compute: Callable[[], T]) -> T:
    """compute(), cached under the current numbers of these kinds of data. The key must
    name everything the result depends on besides them (the user's reach, the filters)."""
    versions = data_versions(keys)
    stamp = ",".join(f"{k}{n}" for k, n in versions.items())
    cache_key = f"yunshu:v1:{name}:{stamp}:" + hashlib.sha1(key.encode()).hexdigest()
    found = cache.get(cache_key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    value = compute()
    cache.set(cache_key, value, CACHE_SECONDS)
    return value


def count_under(keys: Iterable[str], qs: QuerySet[Any], key: str | None) -> int:
    """qs.count(), cached under the current numbers of these kinds of data when a key names
    it (None: the count depends on more than they cover, so it is counted every time)."""
    counted = qs.order_by()
    if key is None:
        return counted.count()
    return cached_under(keys, "count", key, counted.count)


TRACKED: dict[Any, str] = {}


def track(model: Any, key: str, *, when: Callable[[Any], bool] | None = None) -> None:
    """Every save or delete of this model (for which `when` holds) moves the counter on. Bulk
    writes send no signals: bulk_insert asks TRACKED, COPY and QuerySet.update callers call
    data_changed themselves."""
    from django.db.models.signals import post_delete, post_save

    TRACKED[model] = key

    def changed(sender: Any, instance: Any, **kwargs: Any) -> None:
        if when is None or when(instance):
            data_changed(key)

    post_save.connect(changed, sender=model, weak=False, dispatch_uid=f"version-s-{model}")
    post_delete.connect(changed, sender=model, weak=False, dispatch_uid=f"version-d-{model}")


class VersionedPaginator(Paginator):
    """A Paginator whose total comes from count_under: one COUNT per data version, not per
    page view. The page's rows are still read fresh on every request."""

    def __init__(
        self, object_list: Any, per_page: int, *, versions: Iterable[str], key: str | None
    ) -> None:
        super().__init__(object_list, per_page)
        self.versions = tuple(versions)
        self.key = key

    @cached_property
    def count(self) -> int:
        return count_under(self.versions, self.object_list, self.key)  # type: ignore[arg-type]
