"""The batch run: every enterprise's top N stored as one run, equal to the live ranking; one run
at a time; only the newest succeeded run's rows kept; stale runs reaped; the city's pages and
`yunshu match-all`."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import close_old_connections, connection
from django.utils import timezone

from yunshu.accounts.models import Role
from yunshu.core.models import AuditEntry, Town
from yunshu.enterprises.models import Enterprise
from yunshu.factories import EnterpriseFactory, industry, product, provider, user_for
from yunshu.matching import recommend, scoring, snapshot
from yunshu.matching.models import MatchRun, Recommendation
from yunshu.matching.tests.test_recommend import assess, levels
from yunshu.providers.catalogue_version import catalogue_bump

pytestmark = pytest.mark.django_db
PARTS = scoring.PART_KEYS


@pytest.fixture(autouse=True)
def fresh_caches():
    snapshot.clear()
    cache.clear()
    yield
    snapshot.clear()


def world():
    """Assessed, partly assessed, unassessed (two clusters) and gone enterprises; products
    from four providers with scenes, clusters, industries, towns and prices that differ."""
    changan = Town.objects.get(name_zh="长安")
    a = EnterpriseFactory()
    b = EnterpriseFactory(town=changan, employees=5, revenue=1_000_000)
    c = EnterpriseFactory(industry=industry("39"))
    d = EnterpriseFactory()  # unassessed, textile: typical levels of a and b
    f = EnterpriseFactory(industry=industry("39"))  # unassessed, electronics
    g = EnterpriseFactory(industry=industry("13"), size_class="unknown")  # nobody assessed
    gone = EnterpriseFactory(status="cancelled")
    assess(a, levels(1, quality=0, after_sales=None))
    assess(b, levels(2, equipment=0, collaboration=3))
    assess(c, {k: v for k, v in levels(3, finance=1).items() if k != "quality"})
    assess(gone, levels(0))
    p1, p2, p3, p4 = (provider(trust_score=t) for t in (90, 55, 70, 100))
    p1.towns_served.add(changan)
    p3.towns_served.add(a.town)
    items = [
        product(p1, scenes={"quality": 3, "equipment": 2}, clusters=[a.cluster]),
        product(p1, scenes={"quality": 4}, industries=[c.industry]),
        product(p1, scenes={"collaboration": 4}),
        product(p2, scenes={"finance": 3, "energy": 2}, price_bands={"small": [90_000, 150_000]}),
        product(p2, scenes={"equipment": 4}, price_bands={}),
        product(p3, scenes={"after_sales": 4, "quality": 1}, clusters=[c.cluster]),
        product(p3, scenes={"safety": 3}, industries=[a.industry, g.industry]),
        product(p4, scenes={"marketing": 2}),
        product(p4, scenes={"decision_support": 4, "finance": 4}),
    ]
    catalogue_bump()
    return [a, b, c, d, f, g], gone, items


def stored(run, enterprise):
    return [
        (r.rank, r.product_id, r.provider_id, r.score, *[getattr(r, k) for k in PARTS], r.assessed)
        for r in Recommendation.objects.filter(run=run, enterprise=enterprise).order_by("rank")
    ]


def live(enterprise, top):
    result = recommend.recommendations_live(enterprise=enterprise, top=top)
    return [
        (i.rank, i.product_id, i.provider_id, i.total, *i.parts.as_dict().values(), result.assessed)
        for i in result.items
    ]


def run_batch(by=None, top_n=4):
    run = recommend.match_run_start(by=by, top_n=top_n, enqueue=False)
    return recommend.match_run_execute(run.pk)


def test_a_batch_run_stores_for_every_operating_enterprise_exactly_the_live_ranking():
    people, gone, _items = world()
    run = run_batch(top_n=4)
    assert run.status == "succeeded"
    assert run.enterprises_total == len(people) == run.enterprises_done
    assert run.rows == 4 * len(people) == Recommendation.objects.filter(run=run).count()
    assert run.seconds is not None and run.catalogue_version >= 1
    for e in people:
        assert stored(run, e) == live(e, 4), e.name
    assert not Recommendation.objects.filter(enterprise=gone).exists()
    assert [r.assessed for r in Recommendation.objects.filter(run=run, rank=1)].count(False) == 3
    assert AuditEntry.objects.filter(action="match_run.succeed").count() == 1


def test_a_second_run_replaces_the_first_runs_rows():
    people, _gone, _items = world()
    first = run_batch(top_n=2)
    second = run_batch(top_n=3)
    assert recommend.current_match_run() == second
    assert not Recommendation.objects.filter(run=first).exists()
    assert recommend.stored_recommendations().count() == 3 * len(people)


def test_starting_twice_returns_the_run_in_progress_instead_of_a_second_one():
    city = user_for(Role.CITY)
    first = recommend.match_run_start(by=city, enqueue=False)
    again = recommend.match_run_start(by=city, enqueue=False)
    assert again.pk == first.pk and MatchRun.objects.count() == 1
    assert AuditEntry.objects.filter(action="match_run.start").count() == 1


def test_only_the_city_may_start_a_run_and_top_n_is_checked():
    from django.core.exceptions import ValidationError
    from django.http import Http404

    for role in (Role.TOWN, Role.ENTERPRISE, Role.PROVIDER):
        with pytest.raises(Http404):
            recommend.match_run_start(by=user_for(role), enqueue=False)
    with pytest.raises(ValidationError) as err:
        recommend.match_run_start(by=user_for(Role.CITY), top_n=0, enqueue=False)
    assert "top_n" in err.value.message_dict
    assert not MatchRun.objects.exists()


def test_a_run_whose_heartbeat_stopped_is_shown_failed_and_a_new_one_can_start(settings):
    settings.JOB_STALE_AFTER_SECONDS = 60
    stale = MatchRun.objects.create(
        status="running", heartbeat_at=timezone.now() - dt.timedelta(minutes=5)
    )
    fresh = recommend.match_run_start(by=user_for(Role.CITY), enqueue=False)
    stale.refresh_from_db()
    assert stale.status == "failed" and "心跳超时" in stale.failure
    assert fresh.pk != stale.pk and fresh.status == "queued"


def test_a_failed_run_leaves_the_previous_results_in_place(monkeypatch):
    people, _gone, _items = world()
    good = run_batch(top_n=2)

    def broken(text, n_rows):
        raise OSError("disk full")

    monkeypatch.setattr(recommend, "_write", broken)
    with pytest.raises(OSError):
        run_batch(top_n=2)
    failed = MatchRun.objects.exclude(pk=good.pk).get()
    assert failed.status == "failed" and "disk full" in failed.failure
    assert recommend.current_match_run() == good
    assert Recommendation.objects.filter(run=good).count() == 2 * len(people)
    assert not Recommendation.objects.filter(run=failed).exists()


def test_a_run_reaped_while_still_working_never_replaces_the_current_results():
    people, _gone, _items = world()
    good = run_batch(top_n=2)
    late = recommend.match_run_start(by=None, top_n=2, enqueue=False)

    def reaped(done, total):  # the reaper marks it failed while its worker still runs
        MatchRun.objects.filter(pk=late.pk).update(status="failed")

    with pytest.raises(RuntimeError):
        recommend.match_run_execute(late.pk, on_progress=reaped)
    assert recommend.current_match_run() == good
    assert recommend.stored_recommendations().count() == 2 * len(people)
    assert not Recommendation.objects.filter(run=late).exists()


def test_a_claimed_run_is_not_computed_twice():
    world()
    run = run_batch(top_n=1)
    rows = Recommendation.objects.count()
    again = recommend.match_run_execute(run.pk)  # a second worker picking up the same id
    assert again.status == "succeeded" and Recommendation.objects.count() == rows


def test_an_empty_catalogue_gives_a_succeeded_run_with_no_rows():
    EnterpriseFactory()
    run = run_batch()
    assert run.status == "succeeded" and run.rows == 0 and run.enterprises_total == 1


# -- pages -------------------------------------------------------------------------------------


def test_city_starts_a_run_from_the_page_and_follows_its_progress(
    client, django_capture_on_commit_callbacks
):
    people, _gone, _items = world()
    city = user_for(Role.CITY)
    client.force_login(city)
    assert client.get("/matching/runs/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/matching/runs/", {"top_n": "3"})
    run = MatchRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/matching/runs/{run.pk}/"
    run.refresh_from_db()  # the test task backend runs the job at once
    assert run.status == "succeeded" and run.rows == 3 * len(people)
    partial = client.get(f"/matching/runs/{run.pk}/", headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert 'data-status="succeeded"' in body and "hx-trigger" not in body
    assert "<html" not in body
    history = client.get("/matching/runs/").content.decode()
    assert f'href="/matching/runs/{run.pk}/"' in history


def test_a_queued_run_polls_and_a_second_click_opens_the_same_run(client):
    client.force_login(user_for(Role.CITY))
    client.post("/matching/runs/", {"top_n": "10"})
    response = client.post("/matching/runs/", {"top_n": "10"}, follow=True)
    assert MatchRun.objects.count() == 1
    body = response.content.decode()
    assert 'hx-trigger="every 1s"' in body and 'data-status="queued"' in body


def test_a_bad_top_n_is_refused_with_a_message(client):
    client.force_login(user_for(Role.CITY))
    response = client.post("/matching/runs/", {"top_n": "500"})
    assert response.status_code == 200 and 'data-testid="error-top_n"' in response.content.decode()
    assert not MatchRun.objects.exists()


@pytest.mark.parametrize(
    "role", [Role.TOWN, Role.ENTERPRISE, Role.PROVIDER, Role.EXPERT, Role.ASSESSOR, Role.COLLEGE]
)
def test_only_the_city_sees_the_run_pages(client, role):
    run = MatchRun.objects.create()
    client.force_login(user_for(role))
    assert client.get("/matching/runs/").status_code == 404
    assert client.post("/matching/runs/", {"top_n": "10"}).status_code == 404
    assert client.get(f"/matching/runs/{run.pk}/").status_code == 404
    assert MatchRun.objects.count() == 1


def test_the_history_page_takes_the_same_queries_for_many_runs(client):
    from django.test.utils import CaptureQueriesContext

    city = user_for(Role.CITY)
    client.force_login(city)
    MatchRun.objects.create(created_by=city, status="succeeded", finished_at=timezone.now())
    client.get("/matching/runs/")
    with CaptureQueriesContext(connection) as few:
        client.get("/matching/runs/")
    for _ in range(10):
        MatchRun.objects.create(created_by=city, status="failed")
    with CaptureQueriesContext(connection) as many:
        client.get("/matching/runs/")
    assert len(few.captured_queries) == len(many.captured_queries)


# -- command line ------------------------------------------------------------------------------


def test_match_all_runs_synchronously_and_prints_progress(capsys):
    people, _gone, _items = world()
    call_command("match_all", "--top", "2")
    out = capsys.readouterr()
    run = MatchRun.objects.get()
    assert run.status == "succeeded" and run.created_by is None
    assert f"{len(people)} / {len(people)} enterprises" in out.err
    assert f"run #{run.pk} succeeded: {len(people)} enterprises, {2 * len(people)} rows" in out.out


def test_match_all_refuses_while_another_run_is_running(capsys):
    MatchRun.objects.create(status="running", heartbeat_at=timezone.now())
    with pytest.raises(SystemExit) as exit_:
        call_command("match_all")
    assert exit_.value.code == 1 and "already running" in capsys.readouterr().err


# -- PostgreSQL: concurrent starts --------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_make_one_run(reference_data):
    city = user_for(Role.CITY)
    barrier = threading.Barrier(4)
    got: list[int] = []

    def start():
        try:
            barrier.wait()
            got.append(recommend.match_run_start(by=city, enqueue=False).pk)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 1 and MatchRun.objects.count() == 1
    assert Enterprise.objects.count() == 0
