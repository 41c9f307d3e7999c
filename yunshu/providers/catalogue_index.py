"""The public catalogue held in memory, for its list page.

The catalogue is a few thousand products read by everyone, and changes a few times a day. A
list page that asked the database (a filtered, sorted page, its prefetches, a model instance
per row) cost several times what the rest of the page did. This is the same thing held per
process, as matching's snapshot is: every service that changes what the catalogue shows bumps
the catalogue version (providers.catalogue_version), one cheap query per request reads it,
and a process whose index is older builds it again from `catalogue_products()`.

`search()` gives the same products in the same order as `catalogue.catalogue_search()` with
the same filters (a test holds the two equal); the export still reads the database. Text
matching follows PostgreSQL's icontains (UPPER on both sides, a literal substring); SQLite's
LIKE folds ASCII letters only, so there non-ASCII letters of another case may differ.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from django.db import transaction

from .catalogue import SECURITY_KEYS, SIZE_KEYS
from .catalogue_version import catalogue_stamp
from .models import Product, ProductScene
from .selectors import catalogue_products


@dataclass(frozen=True, slots=True)
class Entry:
    """One product as its card and the filters need it."""

    pk: int
    name: str
    summary: str
    provider_id: int
    provider_name: str
    trust_grade: str
    trust_score: int
    lead: bool
    deployment: str
    residency: str
    weeks: int
    price_bands: dict[str, Any]
    lows: dict[str, int]  # size class → the low end of its band
    security: frozenset[str]
    scenes: tuple[tuple[str, int], ...]  # (scene, lifts to), highest level first
    clusters: frozenset[int]
    industries: frozenset[str]
    folded: tuple[str, str, str]  # name, summary and provider name, upper-cased


def fold(text: str) -> str:
    """Upper case one character at a time, as PostgreSQL's UPPER does: Python's upper() turns
    some characters into two (ß into SS), which the database's search never matches."""
    if text.isascii():
        return text.upper()
    return "".join(u if len(u := c.upper()) == 1 else c for c in text)


def _low(band: Any) -> int | None:
    if isinstance(band, list | tuple) and band and isinstance(band[0], int):
        return band[0]
    return None


class Results(Sequence[Entry]):
    """Positions in the index, read as entries (a Paginator slices it)."""

    def __init__(self, entries: list[Entry], positions: list[int]) -> None:
        self._entries = entries
        self._positions = positions

    def __len__(self) -> int:
        return len(self._positions)

    @overload
    def __getitem__(self, i: int) -> Entry: ...
    @overload
    def __getitem__(self, i: slice) -> list[Entry]: ...
    def __getitem__(self, i: int | slice) -> Entry | list[Entry]:
        if isinstance(i, slice):
            return [self._entries[p] for p in self._positions[i]]
        return self._entries[self._positions[i]]

    def __iter__(self) -> Iterator[Entry]:
        return (self._entries[p] for p in self._positions)


class CatalogueIndex:
    def __init__(self, version: tuple[int, Any], entries: list[Entry]) -> None:
        self.version = version
        self.entries = entries  # in the database's (name, id) order
        self.by_scene: dict[str, set[int]] = {}
        self.by_cluster: dict[int, set[int]] = {}
        self.by_industry: dict[str, set[int]] = {}
        self.by_deployment: dict[str, set[int]] = {}
        self.by_residency: dict[str, set[int]] = {}
        self.by_security: dict[str, set[int]] = {}
        self.lead: set[int] = set()
        # One text per product for the search box: name, summary and provider name, apart by
        # a character no search can hold (the form refuses NUL).
        self.haystacks = ["\x00".join(e.folded) for e in entries]
        for i, e in enumerate(entries):
            for scene, _level in e.scenes:
                self.by_scene.setdefault(scene, set()).add(i)
            for c in e.clusters:
                self.by_cluster.setdefault(c, set()).add(i)
            for ind in e.industries:
                self.by_industry.setdefault(ind, set()).add(i)
            self.by_deployment.setdefault(e.deployment, set()).add(i)
            self.by_residency.setdefault(e.residency, set()).add(i)
            for key in e.security:
                self.by_security.setdefault(key, set()).add(i)
            if e.lead:
                self.lead.add(i)

    @classmethod
    def build(cls) -> CatalogueIndex:
        # The version is read first: a change committed while this reads is newer than it,
        # so the next request builds again.
        version = catalogue_stamp()
        with transaction.atomic():
            public = catalogue_products()
            scenes: dict[int, list[tuple[str, int]]] = {}
            for pid, scene, level in (
                ProductScene.objects.filter(product__in=public.values("pk"))
                .order_by("-lifts_to", "scene")
                .values_list("product_id", "scene", "lifts_to")
            ):
                scenes.setdefault(pid, []).append((scene, level))
            clusters: dict[int, set[int]] = {}
            for pid, cid in Product.clusters.through.objects.filter(
                product__in=public.values("pk")
            ).values_list("product_id", "cluster_id"):
                clusters.setdefault(pid, set()).add(cid)
            industries: dict[int, set[str]] = {}
            for pid, iid in Product.industries.through.objects.filter(
                product__in=public.values("pk")
            ).values_list("product_id", "industry_id"):
                industries.setdefault(pid, set()).add(iid)
            rows = public.order_by("name", "id").values_list(
                "id",
                "name",
                "summary",
                "provider_id",
                "provider__name",
                "provider__trust_grade",
                "provider__trust_score",
                "provider__organisation__is_lead_provider",
                "deployment",
                "data_residency",
                "implementation_weeks",
                "price_bands",
                "security_features",
            )
            entries = []
            for (
                pk,
                name,
                summary,
                provider_id,
                provider_name,
                grade,
                score,
                lead,
                deployment,
                residency,
                weeks,
                bands,
                security,
            ) in rows:
                bands = bands or {}
                lows = {s: low for s in SIZE_KEYS if (low := _low(bands.get(s))) is not None}
                entries.append(
                    Entry(
                        pk=pk,
                        name=name,
                        summary=summary,
                        provider_id=provider_id,
                        provider_name=provider_name,
                        trust_grade=grade or "",
                        trust_score=score,
                        lead=bool(lead),
                        deployment=deployment,
                        residency=residency,
                        weeks=weeks,
                        price_bands=bands,
                        lows=lows,
                        security=frozenset(security or ()),
                        scenes=tuple(scenes.get(pk, ())),
                        clusters=frozenset(clusters.get(pk, ())),
                        industries=frozenset(industries.get(pk, ())),
                        folded=(fold(name), fold(summary), fold(provider_name)),
                    )
                )
        return cls(version, entries)

    def search(
        self,
        *,
        q: str = "",
        scene: str = "",
        cluster: int | None = None,
        industry: str | None = None,
        deployment: str = "",
        size_class: str = "",
        price_max: int | None = None,
        weeks_max: int | None = None,
        residency: str = "",
        security: str = "",
        lead_only: bool = False,
        sort: str = "relevance",
    ) -> Results:
        """The products catalogue_search() gives for these filters, in its order. A negative
        price ceiling is the caller's error (the form refuses it), as it is there."""
        assert price_max is None or price_max >= 0
        sets: list[set[int]] = []
        if scene:
            sets.append(self.by_scene.get(scene, set()))
        if cluster:
            sets.append(self.by_cluster.get(cluster, set()))
        if industry:
            sets.append(self.by_industry.get(industry, set()))
        if deployment:
            sets.append(self.by_deployment.get(deployment, set()))
        if residency:
            sets.append(self.by_residency.get(residency, set()))
        if security in SECURITY_KEYS:
            sets.append(self.by_security.get(security, set()))
        if lead_only:
            sets.append(self.lead)
        if sets:
            sets.sort(key=len)
            chosen = set(sets[0]).intersection(*sets[1:])
            positions = sorted(chosen)
        else:
            positions = list(range(len(self.entries)))

        e = self.entries
        q = q.strip()
        folded = fold(q)
        if folded:
            hay = self.haystacks
            positions = [i for i in positions if folded in hay[i]]
        if size_class in SIZE_KEYS:
            positions = [i for i in positions if size_class in e[i].lows]
            if price_max is not None:
                positions = [i for i in positions if e[i].lows[size_class] <= price_max]
        elif price_max is not None:
            # No size chosen: any band starting within the budget.
            positions = [
                i for i in positions if any(low <= price_max for low in e[i].lows.values())
            ]
        if weeks_max is not None:
            positions = [i for i in positions if e[i].weeks <= weeks_max]

        if sort == "price":
            size = size_class if size_class in SIZE_KEYS else "small"
            never = float("inf")
            positions.sort(key=lambda i: (e[i].lows.get(size, never), i))
        elif sort == "weeks":
            positions.sort(key=lambda i: (e[i].weeks, i))
        elif sort == "trust":
            positions.sort(key=lambda i: (-e[i].trust_score, i))
        elif sort == "relevance" and folded:
            positions.sort(
                key=lambda i: (
                    -(3 if folded in e[i].folded[0] else 2 if folded in e[i].folded[1] else 1),
                    i,
                )
            )
        # Otherwise positions are already in the database's (name, id) order.
        return Results(e, positions)


_lock = threading.Lock()
_current: CatalogueIndex | None = None


def catalogue_index() -> CatalogueIndex:
    """This process's index of the catalogue as it is now (built again when it moved on)."""
    global _current
    version = catalogue_stamp()
    found = _current
    if found is not None and found.version == version:
        return found
    with _lock:  # one thread builds; the others wait for it rather than build as well
        found = _current
        if found is None or found.version != version:
            found = _current = CatalogueIndex.build()
        return found
