import csv
import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from openpyxl import load_workbook

from yunshu.accounts.models import Role
from yunshu.core.audit import audit_verify
from yunshu.core.demo import make_uscc
from yunshu.enterprises.jobs import import_job_run
from yunshu.enterprises.models import Enterprise, ImportJob
from yunshu.factories import user_for

ROOT = Path(settings.BASE_DIR)
HEADER = ["统一社会信用代码", "企业名称", "所属镇街", "行业代码", "从业人员", "营业收入（万元）"]


def _csv(path: Path, rows: int, *, bad_row: int | None = None) -> Path:
    import random

    rng = random.Random(rows)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(rows):
            town = "火星镇" if i == bad_row else "虎门"
            w.writerow(
                [make_uscc(rng), f"东莞市测试{i}有限公司", town, "18", 30 + i % 500, 500 + i % 900]
            )
    return path


@pytest.mark.django_db
def test_upload_runs_as_a_job_and_reports_created_rows(
    client, tmp_path, django_capture_on_commit_callbacks
):
    city = user_for(Role.CITY)
    client.force_login(city)
    data = _csv(tmp_path / "list.csv", 25).read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/enterprises/import/", {"file": SimpleUploadedFile("list.csv", data, "text/csv")}
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/enterprises/import/{job.pk}/"
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.report["created"] == 25 and Enterprise.objects.count() == 25
    page = client.get(f"/enterprises/import/{job.pk}/")
    assert page.status_code == 200 and b'data-status="succeeded"' in page.content


@pytest.mark.django_db
def test_upload_with_a_bad_row_writes_nothing_and_offers_the_rejected_rows(
    client, tmp_path, django_capture_on_commit_callbacks
):
    city = user_for(Role.CITY)
    client.force_login(city)
    data = _csv(tmp_path / "list.csv", 10, bad_row=4).read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/enterprises/import/", {"file": SimpleUploadedFile("list.csv", data)})
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert Enterprise.objects.count() == 0
    page = client.get(f"/enterprises/import/{job.pk}/").content.decode()
    assert "火星镇" in page and "所属镇街" in page  # the row's error names the column and value
    download = client.get(f"/enterprises/import/{job.pk}/rejected.xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-1] == "错误说明" and len(rows) == 2 and "火星镇" in rows[1][-1]


@pytest.mark.django_db
def test_only_city_officers_may_upload(client, tmp_path):
    for role in (Role.TOWN, Role.ENTERPRISE, Role.PROVIDER):
        client.force_login(user_for(role))
        assert client.get("/enterprises/import/").status_code == 404


@pytest.mark.django_db
def test_upload_of_a_wrong_file_type_is_refused_with_a_message(client):
    client.force_login(user_for(Role.CITY))
    response = client.post(
        "/enterprises/import/", {"file": SimpleUploadedFile("list.pdf", b"%PDF")}
    )
    assert response.status_code == 200
    assert "只支持 .xlsx 或 .csv 文件" in response.content.decode()
    assert ImportJob.objects.count() == 0


def _worker_env() -> dict[str, str]:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    else:
        url = f"sqlite:///{db['NAME']}"
    env = os.environ | {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "YUNSHU_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "JOB_PROGRESS_DATABASE": "progress" if connection.vendor == "postgresql" else "default",
    }
    return env


@pytest.mark.django_db(transaction=True)
def test_killing_the_worker_mid_import_writes_nothing_and_the_job_shows_failed(
    reference_data, client, settings
):
    city = user_for(Role.CITY)
    (Path(settings.MEDIA_ROOT) / "imports").mkdir(parents=True, exist_ok=True)
    _csv(Path(settings.MEDIA_ROOT) / "imports" / "big.csv", 40_000)
    job = ImportJob.objects.create(created_by=city, original_name="big.csv", file="imports/big.csv")
    import_job_run.using(backend="db").enqueue(job.pk)
    worker = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "db_worker",
            "--backend",
            "db",
            "--batch",
            "--no-startup-delay",
        ],
        cwd=ROOT,
        env=_worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job.refresh_from_db()
            # On PostgreSQL new rows stream into the table while the file is checked, so the
            # worker is killed mid-write once a third of the rows have gone; on SQLite they are
            # written after the check.
            if (connection.vendor == "postgresql" and job.rows_done >= 13_000) or (
                connection.vendor != "postgresql" and job.phase == ImportJob.Phase.WRITING
            ):
                break
            assert worker.poll() is None, worker.stdout.read().decode()[-3000:]
            time.sleep(0.05)
        else:
            pytest.fail("the import never reached its writing phase")
        time.sleep(0.3)
        assert worker.poll() is None, "the worker finished before it could be killed"
        if connection.vendor == "postgresql":
            # The worker's transaction is writing into the enterprise table right now.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE relation = %s::regclass"
                    " AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()",
                    [Enterprise._meta.db_table],
                )
                assert cursor.fetchone()[0] >= 1
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert Enterprise.objects.count() == 0
    assert audit_verify()[1] is None
    settings.JOB_STALE_AFTER_SECONDS = 0
    client.force_login(city)
    page = client.get(f"/enterprises/import/{job.pk}/")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert 'data-status="failed"' in page.content.decode()
    assert "未写入任何数据" in page.content.decode()


@pytest.mark.django_db
def test_stale_running_job_is_shown_failed_but_a_fresh_one_is_not(settings):
    from yunshu.enterprises.jobs import import_jobs_reap_stale

    city = user_for(Role.CITY)
    now = timezone.now()
    old = ImportJob.objects.create(
        created_by=city,
        original_name="a.csv",
        status="running",
        heartbeat_at=now - dt.timedelta(minutes=10),
    )
    fresh = ImportJob.objects.create(
        created_by=city, original_name="b.csv", status="running", heartbeat_at=now
    )
    assert import_jobs_reap_stale(now=now) == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == "failed" and fresh.status == "running"
