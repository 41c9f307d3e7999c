"""Recommendations (为我推荐): live for one enterprise, and the batch run for every enterprise.

Reads (selectors) take the acting user; writes (services) are keyword-only, atomic and
audited. The score itself is scoring.py; the fast ranking is snapshot.py. docs/matching.md
explains both, and which assessment's levels count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTransform
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from yunshu.accounts.models import Role
from yunshu.assessments.models import Assessment, AssessmentResult
from yunshu.core.audit import audit_record
from yunshu.core.errors import check
from yunshu.core.jobs import progress_database, reap_stale
from yunshu.core.notifications import notify
from yunshu.enterprises.models import Enterprise, OperatingStatus
from yunshu.enterprises.selectors import enterprises_visible_to

from . import scoring, snapshot
from .models import MatchRun, Recommendation
from .permissions_recommend import can_run_matching, can_view_recommendations
from .scoring import EnterpriseFacts, Parts, Words

log = logging.getLogger(__name__)

# Enterprises that no longer operate in the city get no stored recommendations.
GONE = (OperatingStatus.CANCELLED, OperatingStatus.REVOKED, OperatingStatus.MOVED_OUT)
COUNTED = (Assessment.Status.SUBMITTED, Assessment.Status.SIGNED)
# The newest submitted or signed maturity assessment counts, whatever its source.
LATEST_ORDER = ("-assessment__submitted_at", "-assessment_id")
NO_LEVEL = -1  # the scene does not apply (N/A)
MISSING = -2  # the assessment does not mention the scene (an older questionnaire version)
TOP_MAX = 50
ENTERPRISE_CHUNK = 20_000
PROFILE_CHUNK = 2_000
WRITERS = 2  # PostgreSQL connections writing rows at once during a batch run
ADVISORY_LOCK = 0x59554E_4D41  # "YUN" "MA": one batch run at a time (PostgreSQL)


# -- the enterprise's levels ------------------------------------------------------------------


def latest_maturity_results() -> QuerySet[AssessmentResult]:
    return AssessmentResult.objects.filter(
        is_current=True,
        assessment__questionnaire__kind="maturity",
        assessment__status__in=COUNTED,
    )


def clean_levels(raw: Any) -> dict[str, int | None]:
    """A stored scene_levels mapping as {scene: 0–4 or None (N/A)}; junk keys dropped."""
    out: dict[str, int | None] = {}
    if not isinstance(raw, Mapping):
        return out
    for key, value in raw.items():
        if value is None or value == "na":
            out[str(key)] = None
            continue
        try:
            level = int(value)
        except (TypeError, ValueError):
            continue
        out[str(key)] = max(scoring.LEVEL_MIN, min(scoring.LEVEL_MAX, level))
    return out


def _results_marker() -> str:
    """Changes whenever an assessment result is stored (one index-only query)."""
    row = AssessmentResult.objects.order_by("-id").values_list("id", "created_at").first()
    return f"{row[0]}@{row[1].timestamp()}" if row else "none"


def _typical_key(cluster_id: int | None, scene_keys: Sequence[str]) -> str:
    scenes = hashlib.sha256("|".join(scene_keys).encode()).hexdigest()[:12]
    return f"matching:typical:{cluster_id or 'all'}:{scenes}"


def typical_levels_max_age() -> float:
    return float(getattr(settings, "MATCHING_TYPICAL_LEVELS_MAX_AGE", 600))


def typical_levels_for(cluster_id: int | None, scene_keys: Sequence[str]) -> dict[str, int]:
    """The cluster's typical levels (every assessed enterprise when it has no cluster).

    Computing them reads every assessed enterprise of the cluster (a few hundred ms at city
    scale), so they are cached: recomputed once a newer assessment result exists and the
    cached value is older than MATCHING_TYPICAL_LEVELS_MAX_AGE seconds (default 600)."""
    marker = _results_marker()
    key = _typical_key(cluster_id, scene_keys)
    entry = cache.get(key)
    now = time.time()
    if entry is not None and (
        entry["marker"] == marker or now - entry["at"] < typical_levels_max_age()
    ):
        return dict(entry["levels"])
    qs = latest_maturity_results()
    if cluster_id is not None:
        qs = qs.filter(assessment__enterprise__cluster_id=cluster_id)
    rows = qs.order_by("assessment__enterprise_id", *LATEST_ORDER).values_list(
        "assessment__enterprise_id", KeyTransform("scene_levels", "computed")
    )
    seen: set[int] = set()
    maps = []
    for enterprise_id, raw in rows.iterator(chunk_size=5000):
        if enterprise_id not in seen:
            seen.add(enterprise_id)
            maps.append(clean_levels(raw))
    typical = scoring.typical_levels(maps, scene_keys)
    cache.set(key, {"marker": marker, "at": now, "levels": typical}, 7 * 24 * 3600)
    return typical


@dataclass(frozen=True)
class Basis:
    """The assessment whose current result gave the levels."""

    assessment_id: int
    source: str
    source_label: str
    status: str
    submitted_at: dt.datetime | None
    level: int | None


def standing(
    enterprise: Enterprise, scenes: Sequence[scoring.SceneInfo]
) -> tuple[EnterpriseFacts, Basis | None]:
    keys = [s.key for s in scenes]
    row = (
        latest_maturity_results()
        .filter(assessment__enterprise_id=enterprise.pk)
        .order_by(*LATEST_ORDER)
        .values_list(
            "assessment_id",
            "assessment__source",
            "assessment__status",
            "assessment__submitted_at",
            "level",
            KeyTransform("scene_levels", "computed"),
        )
        .first()
    )
    basis = None
    if row is None:
        levels: dict[str, int | None] = dict(typical_levels_for(enterprise.cluster_id, keys))
    else:
        levels = clean_levels(row[5])
        basis = Basis(
            assessment_id=row[0],
            source=row[1],
            source_label=str(Assessment.Source(row[1]).label),
            status=row[2],
            submitted_at=row[3],
            level=row[4],
        )
        if any(k not in levels for k in keys):
            typical = typical_levels_for(enterprise.cluster_id, keys)
            levels = {k: levels[k] if k in levels else typical[k] for k in keys}
    facts = EnterpriseFacts(
        levels=levels,
        cluster_id=enterprise.cluster_id,
        industry_id=enterprise.industry_id,
        size_class=enterprise.size_class,
        town_id=enterprise.town_id,
        assessed=basis is not None,
    )
    return facts, basis


# -- live recommendations for one enterprise --------------------------------------------------


@dataclass
class Item:
    rank: int
    product_id: int
    product_name: str
    summary: str
    provider_id: int
    provider_name: str
    parts: Parts
    words: list[Words]
    trust_grade: str = ""

    @property
    def total(self) -> int:
        return self.parts.total

    def segments(self) -> list[dict[str, Any]]:
        """The parts as shares of the total, for the bar."""
        total = self.total or 1
        return [
            {"key": w.key, "label": w.label, "points": w.points, "percent": w.points * 100 / total}
            for w in self.words
            if w.points
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "product_id": self.product_id,
            "product": self.product_name,
            "provider_id": self.provider_id,
            "provider": self.provider_name,
            "trust_grade": self.trust_grade,
            "total": self.total,
            "parts": self.parts.as_dict(),
            "words": {w.key: list(w.lines) for w in self.words},
        }


@dataclass
class Recommendations:
    enterprise: Enterprise
    facts: EnterpriseFacts
    basis: Basis | None
    scenes: tuple[scoring.SceneInfo, ...]
    items: list[Item]
    candidates: int
    catalogue_version: int
    top: int
    cap: int
    budgets: dict[str, int] = field(default_factory=dict)
    target_level: int = scoring.DEFAULT_TARGET_LEVEL

    @property
    def target_label(self) -> str:
        return str(scoring.LEVEL_NAMES[self.target_level])

    @property
    def assessed(self) -> bool:
        return self.basis is not None

    def scene_rows(self) -> list[dict[str, Any]]:
        """Each scene's level the ranking used (the assessment's, or the cluster's typical
        level), and whether it is below the target (a gap, 差距)."""
        return [
            {
                "key": s.key,
                "name": s.name,
                "mandatory": s.mandatory,
                "level": lv,
                "label": scoring.LEVEL_NAMES[lv] if lv is not None else None,
                "gap": lv is not None and lv < self.target_level,
            }
            for s in self.scenes
            for lv in (self.facts.levels.get(s.key),)
        ]

    def as_dict(self) -> dict[str, Any]:
        e = self.enterprise
        return {
            "enterprise": {
                "id": e.pk,
                "uscc": e.uscc,
                "name": e.name,
                "cluster": e.cluster.name_zh if e.cluster else None,
                "industry": e.industry_id,
                "size_class": e.size_class,
                "town": e.town.name_zh,
                "assessed": self.assessed,
                "basis": {
                    "assessment_id": self.basis.assessment_id,
                    "source": self.basis.source,
                    "submitted_at": self.basis.submitted_at.isoformat()
                    if self.basis.submitted_at
                    else None,
                    "level": self.basis.level,
                }
                if self.basis
                else None,
                "levels": {s.key: self.facts.levels.get(s.key) for s in self.scenes},
            },
            "catalogue_version": self.catalogue_version,
            "candidates": self.candidates,
            "top": self.top,
            "per_provider_cap": self.cap,
            "reference_budget_yuan": self.budgets,
            "recommendations": [i.as_dict() for i in self.items],
        }


def recommendations_live(
    *, enterprise: Enterprise, top: int = scoring.DEFAULT_TOP, cap: int | None = None
) -> Recommendations:
    """Rank every catalogue product for the enterprise now (no permission check: callers are
    the selector below and the command line)."""
    snap = snapshot.current()
    cap = snapshot.per_provider_cap() if cap is None else cap
    facts, basis = standing(enterprise, snap.scenes)
    cluster_name = enterprise.cluster.name if enterprise.cluster else ""
    items = []
    for rank, j in enumerate(snap.rank_one(facts, top=top, cap=cap), start=1):
        product = snap.products[j]
        parts = scoring.score(
            facts, product, snap.mandatory, budgets=snap.budgets, target=snap.target
        )
        words = scoring.explain(
            parts,
            snap.scene_by_key,
            product=product,
            cluster_name=cluster_name,
            industry_name=enterprise.industry.name,
            town_name=enterprise.town.name,
            size_known=enterprise.size_class in scoring.SIZE_CLASSES,
            typical=basis is None,
        )
        items.append(
            Item(
                rank=rank,
                product_id=product.id,
                product_name=snap.names[j],
                summary=snap.summaries[j],
                provider_id=product.provider_id,
                provider_name=snap.provider_names[j],
                parts=parts,
                words=words,
                trust_grade=scoring.trust_grade(product.trust_score),
            )
        )
    return Recommendations(
        enterprise=enterprise,
        facts=facts,
        basis=basis,
        scenes=snap.scenes,
        items=items,
        candidates=snap.n,
        catalogue_version=int(snap.key[0]),
        top=top,
        cap=cap,
        budgets=dict(snap.budgets),
        target_level=snap.target,
    )


def unlinked_enterprise_account(user: Any) -> bool:
    """An enterprise user whose organisation has no registry record yet (its claim is still
    pending, or was refused): no recommendations until it has one."""
    org = getattr(user, "organisation", None)
    return (
        getattr(user, "is_authenticated", False)
        and org is not None
        and org.kind == Role.ENTERPRISE
        and org.enterprise_id is None
    )


def recommendation_enterprise(user: Any, pk: int | None = None) -> Enterprise:
    """The enterprise whose recommendations the user asks for: their own (pk None), or one an
    officer can see. Missing and forbidden are the same 404."""
    if pk is None:
        org = getattr(user, "organisation", None)
        if org is None or org.kind != Role.ENTERPRISE or org.enterprise_id is None:
            raise Http404
        pk = org.enterprise_id
    enterprise = get_object_or_404(enterprises_visible_to(user), pk=pk)
    check(can_view_recommendations(user, enterprise))
    return enterprise


def recommendations_for(user: Any, pk: int | None = None, *, top: int = 10) -> Recommendations:
    return recommendations_live(enterprise=recommendation_enterprise(user, pk), top=top)


# -- stored runs: selectors -------------------------------------------------------------------


def match_runs_visible_to(user: Any) -> QuerySet[MatchRun]:
    if not can_run_matching(user)[0]:
        return MatchRun.objects.none()
    return MatchRun.objects.select_related("created_by")


def current_match_run() -> MatchRun | None:
    """The newest succeeded run: the one whose rows are kept."""
    return (
        MatchRun.objects.filter(status=MatchRun.Status.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .first()
    )


def stored_recommendations() -> QuerySet[Recommendation]:
    """The rows of the current run (other areas read matched demand from here)."""
    run = current_match_run()
    if run is None:
        return Recommendation.objects.none()
    return Recommendation.objects.filter(run=run)


# -- stored runs: services --------------------------------------------------------------------


def match_runs_reap_stale() -> int:
    return reap_stale(
        MatchRun, failure=_("后台任务中断（心跳超时）；上一次成功的推荐结果仍然有效，可重新运行")
    )


def _lock_runs() -> None:
    # SQLite takes the write lock at BEGIN (IMMEDIATE), which serialises this already.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])


@transaction.atomic
def match_run_start(*, by: Any, top_n: int = scoring.DEFAULT_TOP, enqueue: bool = True) -> MatchRun:
    """Queue a batch run. A run already queued or running is returned instead of a second
    one (double clicks, two officers). by=None is the command line."""
    if by is not None:
        check(can_run_matching(by))
    if not isinstance(top_n, int) or not 1 <= top_n <= TOP_MAX:
        raise ValidationError({"top_n": _("每家企业的推荐条数应为 1–%(n)d") % {"n": TOP_MAX}})
    _lock_runs()
    match_runs_reap_stale()
    active = (
        MatchRun.objects.select_for_update()
        .filter(status__in=[MatchRun.Status.QUEUED, MatchRun.Status.RUNNING])
        .order_by("-id")
        .first()
    )
    if active is not None:
        return active
    run = MatchRun.objects.create(created_by=by, top_n=top_n)
    audit_record(actor=by, action="match_run.start", obj=run, after={"top_n": top_n})
    if enqueue:
        transaction.on_commit(lambda: match_run_task.enqueue(run.pk))
    return run


@task()
def match_run_task(run_id: int) -> dict[str, Any]:
    run = match_run_execute(run_id)
    return {"status": run.status, "rows": run.rows, "seconds": run.seconds}


Progress = Callable[[int, int], None]


def match_run_execute(run_id: int, *, on_progress: Progress | None = None) -> MatchRun:
    """Claim a queued run and compute it. Rows are written chunk by chunk under the run;
    readers only ever use the newest succeeded run, and on success every other run's rows
    are deleted in the same transaction that marks it succeeded."""
    started = timezone.now()
    claimed = MatchRun.objects.filter(pk=run_id, status=MatchRun.Status.QUEUED).update(
        status=MatchRun.Status.RUNNING, heartbeat_at=started
    )
    run = MatchRun.objects.select_related("created_by").get(pk=run_id)
    if not claimed:
        return run
    t0 = time.perf_counter()

    def progress(done: int, total: int, rows: int) -> None:
        MatchRun.objects.using(progress_database()).filter(pk=run_id).update(
            enterprises_done=done, enterprises_total=total, rows=rows, heartbeat_at=timezone.now()
        )
        if on_progress:
            on_progress(done, total)

    try:
        version, total, rows = compute_and_write(run, progress=progress)
        with transaction.atomic():
            if MatchRun.objects.select_for_update().get(pk=run_id).status != "running":
                # Reaped as stale while it was still working: a newer run may own the
                # results by now, so this one's rows go.
                raise RuntimeError(_("该任务已被标记为中断，结果作废"))
            Recommendation.objects.exclude(run_id=run_id).delete()
            seconds = round(time.perf_counter() - t0, 3)
            MatchRun.objects.filter(pk=run_id).update(
                status=MatchRun.Status.SUCCEEDED,
                catalogue_version=version,
                enterprises_total=total,
                enterprises_done=total,
                rows=rows,
                heartbeat_at=timezone.now(),
                finished_at=timezone.now(),
                seconds=seconds,
            )
            audit_record(
                actor=None,
                action="match_run.succeed",
                obj=run,
                after={"enterprises": total, "rows": rows, "catalogue_version": version},
            )
            if run.created_by:
                notify(
                    recipients=[run.created_by],
                    subject=_("批量匹配完成：%(n)s 家企业") % {"n": f"{total:,}"},
                    url=f"/matching/runs/{run_id}/",
                )
    except Exception as exc:
        log.exception("match run %s failed", run_id)
        Recommendation.objects.filter(run_id=run_id).delete()
        with transaction.atomic():
            MatchRun.objects.filter(pk=run_id).update(
                status=MatchRun.Status.FAILED,
                failure=f"{type(exc).__name__}: {exc}"[:2000],
                finished_at=timezone.now(),
                seconds=round(time.perf_counter() - t0, 3),
            )
            audit_record(
                actor=None, action="match_run.fail", obj=run, after={"error": type(exc).__name__}
            )
            if run.created_by:
                notify(
                    recipients=[run.created_by],
                    subject=_("批量匹配失败"),
                    body=str(exc)[:500],
                    url=f"/matching/runs/{run_id}/",
                )
        raise
    run.refresh_from_db()
    return run


# -- the batch itself -------------------------------------------------------------------------


@dataclass
class World:
    """Every enterprise that gets rows, as arrays, with the levels the ranking uses."""

    ids: np.ndarray  # (N,) int64
    enc: snapshot.Encoded
    assessed: np.ndarray  # (N,) bool


def load_world(snap: snapshot.Snapshot) -> World:
    keys = [s.key for s in snap.scenes]
    marker = _results_marker()
    pos_of_scene = {k: i for i, k in enumerate(keys)}
    rows = list(
        Enterprise.objects.order_by("id").values_list(
            "id", "cluster_id", "industry_id", "size_class", "town_id", "status"
        )
    )
    count = len(rows)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=count)
    cluster_ids = np.fromiter((r[1] or 0 for r in rows), dtype=np.int64, count=count)
    position = {int(pk): i for i, pk in enumerate(ids)}
    levels = np.full((count, len(keys)), MISSING, dtype=np.int8)
    assessed = np.zeros(count, dtype=bool)
    latest = latest_maturity_results().order_by("assessment__enterprise_id", *LATEST_ORDER)
    last = None
    for enterprise_id, raw in latest.values_list(
        "assessment__enterprise_id", KeyTransform("scene_levels", "computed")
    ).iterator(chunk_size=10_000):
        if enterprise_id == last:
            continue
        last = enterprise_id
        i = position.get(enterprise_id)
        if i is None:
            continue
        assessed[i] = True
        for key, level in clean_levels(raw).items():
            s = pos_of_scene.get(key)
            if s is not None:
                levels[i, s] = NO_LEVEL if level is None else level
    # Typical levels: per cluster (and over everyone, for enterprises without a cluster).
    groups = {0: assessed} | {
        int(c): assessed & (cluster_ids == c) for c in np.unique(cluster_ids) if c
    }
    typical: dict[int, np.ndarray] = {}
    for c, mask in groups.items():
        block = levels[mask].astype(np.int64)
        valid = block >= 0
        n = valid.sum(axis=0)
        sums = np.where(valid, block, 0).sum(axis=0)
        typical[c] = np.where(n > 0, sums // np.maximum(n, 1), scoring.TYPICAL_FALLBACK_LEVEL)
    # The live path reads the same numbers from the cache: leave them there.
    now = time.time()
    for c, values in typical.items():
        entry = {
            "marker": marker,
            "at": now,
            "levels": dict(zip(keys, values.tolist(), strict=True)),
        }
        cache.set(_typical_key(c or None, keys), entry, 7 * 24 * 3600)
    for c in np.unique(cluster_ids):
        rows_c = cluster_ids == c
        fill = typical.get(int(c), typical[0]).astype(np.int8)
        block = levels[rows_c]
        levels[rows_c] = np.where(block == MISSING, fill[None, :], block)
    keep = np.array([r[5] not in GONE for r in rows], dtype=bool)
    kept_rows = [r for r, k in zip(rows, keep, strict=True) if k]
    enc = snapshot.Encoded(
        levels=levels[keep],
        cluster=np.array([snap.cluster_col.get(r[1], -1) for r in kept_rows], dtype=np.int32),
        industry=np.array([snap.industry_col.get(r[2], -1) for r in kept_rows], dtype=np.int32),
        size=np.array([snapshot.size_index(r[3]) for r in kept_rows], dtype=np.int32),
        town=np.array([snap.town_col.get(r[4], -1) for r in kept_rows], dtype=np.int32),
    )
    return World(ids=ids[keep], enc=enc, assessed=assessed[keep])


def _subset(enc: snapshot.Encoded, rows: np.ndarray) -> snapshot.Encoded:
    return snapshot.Encoded(
        levels=enc.levels[rows],
        cluster=enc.cluster[rows],
        industry=enc.industry[rows],
        size=enc.size[rows],
        town=enc.town[rows],
    )


COLUMNS = (
    "run_id",
    "enterprise_id",
    "rank",
    "product_id",
    "provider_id",
    "score",
    "coverage",
    "fit",
    "price",
    "trust",
    "outcomes",
    "local",
    "ratings",
    "assessed",
)


class _Ranker:
    """Ranks distinct profiles on demand (each once) and keeps their rows as COPY text with
    an {e} placeholder for the enterprise id."""

    def __init__(
        self, snap: snapshot.Snapshot, profiles: np.ndarray, *, run_id: int, top: int, cap: int
    ) -> None:
        s_count = len(snap.scenes)
        self.snap, self.run_id, self.top, self.cap = snap, run_id, top, cap
        self.enc = snapshot.Encoded(
            levels=profiles[:, :s_count].astype(np.int8),
            cluster=profiles[:, s_count].astype(np.int32),
            industry=profiles[:, s_count + 1].astype(np.int32),
            size=profiles[:, s_count + 2].astype(np.int32),
            town=profiles[:, s_count + 3].astype(np.int32),
        )
        self.assessed = profiles[:, s_count + 4].astype(bool)
        u = len(profiles)
        self.ranked = np.zeros(u, dtype=bool)
        self.blocks: list[str] = [""] * u
        self.counts = np.zeros(u, dtype=np.int64)

    def ensure(self, wanted: np.ndarray) -> None:
        needed = wanted[~self.ranked[wanted]]
        self.ranked[needed] = True
        if self.snap.n == 0:  # an empty catalogue: nothing to recommend to anyone
            return
        for p0 in range(0, len(needed), PROFILE_CHUNK):
            self._rank(needed[p0 : p0 + PROFILE_CHUNK])

    def _rank(self, part: np.ndarray) -> None:
        snap = self.snap
        sub = _subset(self.enc, part)
        idx, totals, got = snap.rank_rows(sub, top=self.top, cap=self.cap)
        parts = snap.parts_rows(sub, idx)
        valid = idx >= 0
        summed = sum(parts[k] for k in scoring.PART_KEYS)
        if not np.array_equal(np.where(valid, summed, 0), np.where(valid, totals, 0)):
            raise RuntimeError("matching: parts do not add up to the ranked totals")
        safe = np.where(valid, idx, 0)
        prod, prov = snap.product_ids[safe], snap.provider_ids[safe]
        columns = [totals] + [parts[k] for k in scoring.PART_KEYS]
        for r, profile in enumerate(part):
            flag = "t" if self.assessed[profile] else "f"
            lines = []
            for k in range(int(got[r])):
                values = "\t".join(str(int(c[r, k])) for c in columns)
                lines.append(
                    f"{self.run_id}\t{{e}}\t{k + 1}\t{prod[r, k]}\t{prov[r, k]}\t{values}\t{flag}\n"
                )
            self.blocks[profile] = "".join(lines)
            self.counts[profile] = got[r]

    def text(self, ids: np.ndarray, profs: np.ndarray) -> tuple[str, int]:
        blocks = self.blocks
        text = "".join(
            blocks[p].replace("{e}", str(e))
            for e, p in zip(ids.tolist(), profs.tolist(), strict=True)
        )
        return text, int(self.counts[profs].sum())


def compute_and_write(
    run: MatchRun, *, progress: Callable[[int, int, int], None] | None = None
) -> tuple[int, int, int]:
    """Rank every enterprise and write its top-N rows. Enterprises with the same facts (the
    unassessed of one cluster, industry, size and town share typical levels) are ranked once.
    Returns (catalogue version, enterprises, rows)."""
    snap = snapshot.current()
    t0 = time.perf_counter()
    world = load_world(snap)
    total = len(world.ids)
    log.info(
        "match run %s: %d enterprises loaded in %.1f s", run.pk, total, time.perf_counter() - t0
    )
    if progress:
        progress(0, total, 0)
    facts = np.column_stack(
        [
            world.enc.levels.astype(np.int32),
            world.enc.cluster,
            world.enc.industry,
            world.enc.size,
            world.enc.town,
            world.assessed.astype(np.int32),
        ]
    )
    if total:
        profiles, inverse = np.unique(facts, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
    else:
        profiles, inverse = facts, np.zeros(0, dtype=np.int64)
    ranker = _Ranker(snap, profiles, run_id=run.pk, top=run.top_n, cap=snapshot.per_provider_cap())
    log.info(
        "match run %s: %d distinct profiles (%.1f s)",
        run.pk,
        len(profiles),
        time.perf_counter() - t0,
    )

    # On PostgreSQL, chunks are written by WRITERS threads (each on its own connection) while
    # the next chunk is ranked: the database's work per row (seven indexes, four deferred
    # foreign-key checks) is most of the run. Inside an outer transaction (tests) everything
    # stays on this connection, the only one that can see the uncommitted run.
    parallel = connection.vendor == "postgresql" and not connection.in_atomic_block
    pool = ThreadPoolExecutor(max_workers=WRITERS) if parallel else None
    pending: deque[tuple[Future[None] | None, int, int]] = deque()
    done = rows_written = 0
    spent = {"rank": 0.0, "wait": 0.0}

    def settle(limit: int) -> None:
        nonlocal done, rows_written
        while len(pending) > limit:
            future, n_enterprises, n_rows = pending.popleft()
            t = time.perf_counter()
            if future is not None:
                future.result()
            spent["wait"] += time.perf_counter() - t
            done += n_enterprises
            rows_written += n_rows
            if progress:
                progress(done, total, rows_written)

    try:
        for start in range(0, total, ENTERPRISE_CHUNK):
            chunk = slice(start, min(total, start + ENTERPRISE_CHUNK))
            ids, profs = world.ids[chunk], inverse[chunk]
            t = time.perf_counter()
            ranker.ensure(np.unique(profs))
            text, n_rows = ranker.text(ids, profs)
            spent["rank"] += time.perf_counter() - t
            if pool is not None:
                pending.append((pool.submit(_write_and_close, text, n_rows), len(ids), n_rows))
                settle(WRITERS)
            else:
                t = time.perf_counter()
                _write(text, n_rows)
                spent["wait"] += time.perf_counter() - t
                pending.append((None, len(ids), n_rows))
                settle(0)
        settle(0)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    log.info(
        "match run %s: %d rows; ranking and row text %.1f s, waiting for writes %.1f s, "
        "total %.1f s",
        run.pk,
        rows_written,
        spent["rank"],
        spent["wait"],
        time.perf_counter() - t0,
    )
    return int(snap.key[0]), total, rows_written


def _write_and_close(text: str, n_rows: int) -> None:
    """A writer thread's chunk, on the thread's own connection, closed afterwards."""
    try:
        _write(text, n_rows)
    finally:
        connection.close()


def _write(text: str, n_rows: int) -> None:
    if not n_rows:
        return
    table = connection.ops.quote_name(Recommendation._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in COLUMNS)
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        raw = connection.connection
        assert raw is not None
        with (
            transaction.atomic(),
            raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy,
        ):
            copy.write(text.encode())
        return
    rows = list(_parse_lines(text))
    marks = ", ".join(["%s"] * len(COLUMNS))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)


def _parse_lines(text: str) -> Iterator[tuple[int | bool, ...]]:
    for line in io.StringIO(text):
        *numbers, flag = line.rstrip("\n").split("\t")
        yield (*(int(x) for x in numbers), flag == "t")
