"""Assessment bodies upload official results in bulk, attach evidence, and sign them.

The upload is all-or-nothing: every row is checked first, and one bad row means nothing is
created. Each row becomes a submitted official assessment; it is signed (and so becomes the
level of record) only once evidence is attached.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from yunshu.core import uscc as uscc_rules
from yunshu.core.audit import audit_record
from yunshu.core.errors import check
from yunshu.enterprises.importer import CellError, read_rows
from yunshu.enterprises.models import Enterprise
from yunshu.enterprises.selectors import enterprises_visible_to

from . import engine
from .definitions import active_rule, engine_questionnaire
from .models import Assessment, Evidence, Questionnaire
from .permissions import can_upload_official
from .services import _store_result, answer_errors, compute

EVIDENCE_TYPES = (".pdf", ".jpg", ".jpeg", ".png", ".xlsx", ".docx", ".zip")
EVIDENCE_MAX_BYTES = 20 * 1024 * 1024
UPLOAD_MAX_BYTES = 20 * 1024 * 1024
KEY_IN_HEADER = re.compile(r"\[([a-z0-9_.]+)\]\s*$")
CODE_HEADER = "统一社会信用代码"


def template_columns(q: engine.Questionnaire) -> list[tuple[str, str]]:
    """(header, key) for every answer column; a computed item has one column per input."""
    columns: list[tuple[str, str]] = []
    for item in q.items:
        if item.type == "computed":
            for inp in item.inputs:
                label = f"{item.name_zh}·{inp.get('label_zh', inp['key'])}"
                columns.append((f"{label} [{item.key}.{inp['key']}]", f"{item.key}.{inp['key']}"))
        else:
            columns.append((f"{item.name_zh} [{item.key}]", item.key))
    columns += [(f"{s.name_zh}（场景等级 0–4 或 不适用） [{s.key}]", s.key) for s in q.scenes]
    return columns


def template_xlsx(questionnaire: Questionnaire) -> bytes:
    """The workbook an assessment body fills in: one row per enterprise, and a sheet that
    lists what each column accepts."""
    q = engine_questionnaire(questionnaire)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "评估结果"
    ws.append([CODE_HEADER, *(header for header, _key in template_columns(q))])
    guide = wb.create_sheet("填写说明")
    guide.append(["列", "可填写的内容"])
    for item in q.items:
        if item.type in ("single", "multi"):
            options = "；".join(f"{o.key}（{o.label_zh}）" for o in item.options)
            how = ("选一项：" if item.type == "single" else "可多选，用逗号或顿号分隔：") + options
        else:
            how = f"数字{('（' + item.unit + '）') if item.unit else ''}"
        guide.append([f"{item.name_zh} [{item.key}]", how])
    guide.append(["场景等级", "0（未达一级）、1、2、3、4，或 不适用"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@dataclass
class UploadReport:
    rows: int = 0
    created: list[int] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    batch: str = ""


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _parse_cell(item: engine.Item, text: str) -> Any:
    if item.type == "multi":
        parts = [p.strip() for p in re.split(r"[,，、;；\s]+", text) if p.strip()]
        return [_option_key(item, p) for p in parts]
    if item.type == "single":
        return _option_key(item, text)
    return text


def _option_key(item: engine.Item, text: str) -> str:
    for option in item.options:
        if text in (option.key, option.label_zh, option.label_en):
            return option.key
    return text  # the engine names it an unknown option


def _row_answers(
    q: engine.Questionnaire, headers: list[str], keys: dict[int, str], texts: list[str]
) -> tuple[dict[str, Any], dict[str, Any], list[tuple[str, str]]]:
    """One row's answers and scene levels, and the (column, message) of each that is wrong."""
    items = {i.key: i for i in q.items}
    answers: dict[str, Any] = {}
    scenes: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for index, key in keys.items():
        text = texts[index]
        if not text:
            problems.append((headers[index], _("不能为空")))
        elif "." in key:
            item_key, input_key = key.split(".", 1)
            answers.setdefault(item_key, {})[input_key] = text
        elif key in items:
            answers[key] = _parse_cell(items[key], text)
        else:
            scenes[key] = "na" if text in ("不适用", "na", "NA", "N/A") else text
    for key, messages in answer_errors(q, answers, scenes).items():
        column = next((headers[i] for i, k in keys.items() if k.split(".")[0] == key), key)
        problems += [(column, message) for message in messages]
    return answers, scenes, problems


def official_upload(*, by: Any, upload: UploadedFile, questionnaire: Questionnaire) -> UploadReport:
    check(can_upload_official(by))
    if questionnaire.kind != Questionnaire.Kind.MATURITY:
        raise ValidationError(_("第三方评估使用数字化水平问卷"))
    name = (upload.name or "").lower()
    if not name.endswith(".xlsx"):
        raise ValidationError(_("请上传 .xlsx 文件（可先下载模板）"))
    if (upload.size or 0) > UPLOAD_MAX_BYTES:
        raise ValidationError(_("文件超过 20 MB"))
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.xlsx"
        path.write_bytes(upload.read())
        try:
            rows = list(read_rows(path))
        except CellError as exc:
            raise ValidationError(exc.message) from None
    q = engine_questionnaire(questionnaire)
    report = UploadReport()
    if not rows:
        raise ValidationError(_("文件是空的"))
    headers = [_cell_text(h) for h in rows[0]]
    keys: dict[int, str] = {}
    for index, header in enumerate(headers):
        found = KEY_IN_HEADER.search(header)
        if found:
            keys[index] = found.group(1)
    code_column = next((i for i, h in enumerate(headers) if h.startswith(CODE_HEADER)), None)
    expected = {key for _header, key in template_columns(q)}
    missing = expected - set(keys.values())
    if code_column is None or missing:
        raise ValidationError(
            _("表头与模板不符，缺少：%(m)s") % {"m": "、".join(sorted(missing)[:10]) or CODE_HEADER}
        )
    parsed: list[tuple[int, Enterprise, dict[str, Any], dict[str, Any]]] = []
    seen: dict[str, int] = {}
    # Acceptance is for the transformation list: an assessment body reaches those enterprises.
    reachable = enterprises_visible_to(by)
    pending = set(
        Assessment.objects.filter(
            organisation=by.organisation,
            questionnaire=questionnaire,
            source=Assessment.Source.OFFICIAL,
            status=Assessment.Status.SUBMITTED,
        ).values_list("enterprise_id", flat=True)
    )
    for row_no, cells in enumerate(rows[1:], start=2):
        texts = [_cell_text(c) for c in cells] + [""] * (len(headers) - len(cells))
        if not any(texts):
            continue
        report.rows += 1
        row_errors: list[tuple[str, str]] = []
        code = uscc_rules.validate(texts[code_column])
        enterprise = reachable.filter(uscc=code.code).first() if code.ok else None
        if enterprise is None:
            row_errors.append((CODE_HEADER, _("改造名单中没有这个统一社会信用代码")))
        elif enterprise.pk in pending:
            row_errors.append((CODE_HEADER, _("该企业已有一份未签发的结果，请先签发或更正")))
        elif code.code in seen:
            row_errors.append((CODE_HEADER, _("与第 %(r)d 行重复") % {"r": seen[code.code]}))
        else:
            seen[code.code] = row_no
            answers, scenes, problems = _row_answers(q, headers, keys, texts)
            row_errors += problems
        report.errors += [{"row": row_no, "column": c, "message": m} for c, m in row_errors]
        if not row_errors and enterprise is not None:
            parsed.append((row_no, enterprise, answers, scenes))
    if report.errors:
        return report
    report.batch = secrets.token_hex(8)
    with transaction.atomic():
        rule = active_rule(questionnaire)
        for _row_no, enterprise, answers, scenes in parsed:
            assessment = Assessment.objects.create(
                enterprise=enterprise,
                questionnaire=questionnaire,
                source=Assessment.Source.OFFICIAL,
                status=Assessment.Status.SUBMITTED,
                answers=answers,
                scenes=scenes,
                organisation=by.organisation,
                created_by=by,
                submitted_at=timezone.now(),
                batch=report.batch,
            )
            result = _store_result(assessment, rule, compute(assessment, rule))
            audit_record(
                actor=by,
                action="assessment.official_upload",
                obj=assessment,
                after={"batch": report.batch, "level": result.level, "total": result.total},
            )
            report.created.append(assessment.pk)
    return report


@transaction.atomic
def evidence_add(*, assessment: Assessment, by: Any, upload: UploadedFile) -> Evidence:
    check(can_upload_official(by))
    if (
        assessment.organisation_id != by.organisation_id
        or assessment.source != Assessment.Source.OFFICIAL
    ):
        check((False, ""))
    if assessment.status == Assessment.Status.SIGNED:
        raise ValidationError(_("已签发的评估不能再添加材料"))
    name = upload.name or "file"
    if not name.lower().endswith(EVIDENCE_TYPES):
        raise ValidationError(_("佐证材料只支持 %(t)s") % {"t": "、".join(EVIDENCE_TYPES)})
    if (upload.size or 0) > EVIDENCE_MAX_BYTES:
        raise ValidationError(_("单个文件不能超过 20 MB"))
    content = upload.read()
    upload.seek(0)
    evidence = Evidence.objects.create(
        assessment=assessment,
        file=upload,
        original_name=name[:255],
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=by,
    )
    audit_record(
        actor=by,
        action="assessment.evidence_add",
        obj=assessment,
        after={"file": evidence.original_name, "sha256": evidence.sha256},
    )
    return evidence
