"""Enterprise import as a background job, with progress the page can poll."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from yunshu.core.audit import audit_record
from yunshu.core.errors import check
from yunshu.core.jobs import progress_database, reap_stale
from yunshu.core.notifications import notify

from . import permissions
from .exports import write_rejected_rows
from .importer import import_enterprises
from .models import ImportJob

log = logging.getLogger(__name__)
ALLOWED_SUFFIXES = (".xlsx", ".csv")


@transaction.atomic
def import_job_create(
    *, by: Any, upload: UploadedFile, skip_invalid: bool = False, dry_run: bool = False
) -> ImportJob:
    check(permissions.can_import_enterprises(by))
    name = upload.name or ""
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        raise ValidationError({"file": _("只支持 .xlsx 或 .csv 文件")})
    if (upload.size or 0) > settings.IMPORT_MAX_UPLOAD_BYTES:
        raise ValidationError({"file": _("文件超过 50 MB")})
    job = ImportJob.objects.create(
        created_by=by,
        file=upload,
        original_name=name[:255],
        skip_invalid=skip_invalid,
        dry_run=dry_run,
    )
    audit_record(
        actor=by,
        action="import_job.create",
        obj=job,
        after={"file": name, "skip_invalid": skip_invalid, "dry_run": dry_run},
    )
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    result = import_job_run.enqueue(job_id)
    ImportJob.objects.filter(pk=job_id).update(task_id=str(result.id)[:64])


def _set_progress(job_id: int, **fields: Any) -> None:
    ImportJob.objects.using(progress_database()).filter(pk=job_id).update(
        heartbeat_at=timezone.now(), **fields
    )


@task()
def import_job_run(job_id: int) -> dict[str, Any]:
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status != ImportJob.Status.QUEUED:
        return {"skipped": job.status}
    now = timezone.now()
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.RUNNING, started_at=now, heartbeat_at=now
    )

    def progress(phase: str, done: int, total: int) -> None:
        _set_progress(job_id, phase=phase, rows_done=done, rows_total=total)

    try:
        report, rejected = import_enterprises(
            Path(job.file.path),
            actor=job.created_by,
            skip_invalid=job.skip_invalid,
            dry_run=job.dry_run,
            progress=progress,
        )
    except Exception as exc:
        log.exception("import job %s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            phase=ImportJob.Phase.DONE,
            finished_at=timezone.now(),
            failure=f"{type(exc).__name__}: {exc}",
        )
        raise
    rejected_path = ""
    if rejected:
        rejected_path = write_rejected_rows(Path(job.file.path), rejected, job_id=job_id)
    failed = bool(report.file_errors) or (report.rows_invalid > 0 and not job.skip_invalid)
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.FAILED if failed else ImportJob.Status.SUCCEEDED,
        phase=ImportJob.Phase.DONE,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        report=report.as_dict(),
        rejected_file=rejected_path,
        failure=_("文件有错误，未写入任何数据") if failed else "",
    )
    if job.created_by:
        notify(
            recipients=[job.created_by],
            subject=_("企业名单导入结束：%(f)s") % {"f": job.original_name},
            url=f"/enterprises/import/{job_id}/",
        )
    return report.as_dict() | {"errors": len(report.errors)}


def import_jobs_reap_stale(*, now: dt.datetime | None = None) -> int:
    """A running import whose heartbeat stopped lost its worker: show it as failed.

    Its import ran in one transaction, so the database rolled the partial work back.
    """
    return reap_stale(
        ImportJob,
        now=now,
        phase=ImportJob.Phase.DONE,
        failure=_("后台任务中断（进程退出），未写入任何数据，请重新上传"),
    )
