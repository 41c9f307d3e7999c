"""Reading and validating an enterprise list the way officials write it, then upserting it.

Parsing is pure (cells in, typed values or an error out). Writing happens in one
transaction: a failure, or a killed worker, leaves the registry as it was.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import operator
import queue
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yunshu.core import uscc as uscc_rules
from yunshu.core.audit import audit_record, audit_record_many, canonical_json
from yunshu.core.bulk import (
    analyze,
    collector_paused,
    copy_rows,
    deferred_indexes,
    reserve_ids,
)
from yunshu.core.models import Cluster, Industry, Town
from yunshu.core.size_class import size_class
from yunshu.core.versions import data_changed

from .models import Enterprise, OperatingStatus

# Canonical field → the headers officials use for it (compared after normalise_header).
HEADERS: dict[str, tuple[str, ...]] = {
    "uscc": ("统一社会信用代码", "信用代码", "社会信用代码", "统一信用代码"),
    "name": ("企业名称", "单位名称", "名称"),
    "town": ("所属镇街", "镇街", "所属镇街(园区)", "镇街(园区)", "所属镇(街道)"),
    "industry": ("行业代码", "行业大类代码", "国民经济行业代码"),
    "employees": ("从业人员", "从业人数", "从业人员(人)", "从业人员数"),
    "revenue": ("营业收入(万元)", "营业收入"),
    "above_scale": ("是否规上", "规上企业", "是否规上企业", "规上"),
    "specialised": ("是否专精特新", "专精特新", "专精特新企业"),
    "contact_name": ("联系人",),
    "contact_phone": ("联系电话", "电话", "联系人电话"),
    "address": ("地址", "企业地址", "注册地址"),
    "registered_on": ("成立日期", "注册日期"),
    "status": ("经营状态", "登记状态"),
    "stats_year": ("统计年度", "年度"),
    "employees_year": ("从业人员年度", "从业人员统计年度"),
    "revenue_year": ("营业收入年度", "营业收入统计年度"),
}
REQUIRED = ("uscc", "name", "town", "industry")
# The export writes these headers, in this order, so an exported file imports back unchanged.
EXPORT_HEADERS: tuple[tuple[str, str], ...] = (
    ("uscc", "统一社会信用代码"),
    ("name", "企业名称"),
    ("town", "所属镇街"),
    ("industry", "行业代码"),
    ("employees", "从业人员"),
    ("revenue", "营业收入（万元）"),
    ("stats_year", "统计年度"),
    ("employees_year", "从业人员年度"),
    ("above_scale", "是否规上"),
    ("specialised", "是否专精特新"),
    ("contact_name", "联系人"),
    ("contact_phone", "联系电话"),
    ("address", "地址"),
    ("registered_on", "成立日期"),
    ("status", "经营状态"),
)

TRUE_WORDS = {"是", "Y", "YES", "1", "TRUE", "√", "✓", "T"}
FALSE_WORDS = {"否", "N", "NO", "0", "FALSE", "×", "✗", "F"}
STATUS_WORDS = {
    "存续": OperatingStatus.ACTIVE,
    "在业": OperatingStatus.ACTIVE,
    "在营": OperatingStatus.ACTIVE,
    "开业": OperatingStatus.ACTIVE,
    "存续(在营、开业、在册)": OperatingStatus.ACTIVE,
    "停业": OperatingStatus.SUSPENDED,
    "清算": OperatingStatus.LIQUIDATING,
    "迁出": OperatingStatus.MOVED_OUT,
    "注销": OperatingStatus.CANCELLED,
    "吊销": OperatingStatus.REVOKED,
    "吊销,未注销": OperatingStatus.REVOKED,
}
# The word each status is written with in files, whatever language the UI is in.
STATUS_WRITTEN = {
    OperatingStatus.ACTIVE: "存续",
    OperatingStatus.SUSPENDED: "停业",
    OperatingStatus.LIQUIDATING: "清算",
    OperatingStatus.MOVED_OUT: "迁出",
    OperatingStatus.CANCELLED: "注销",
    OperatingStatus.REVOKED: "吊销",
}
TOWN_SUFFIXES = ("街道办事处", "街道办", "街道", "镇", "园区", "高新区")
WAN = Decimal(10000)
CENT = Decimal("0.01")
MAX_COUNT = Decimal(10_000_000)  # no factory employs ten million people
_MAX_COUNT_INT = int(MAX_COUNT)
# ¥10 trillion; below it every amount keeps 15 significant digits, which SQLite stores exactly.
MAX_REVENUE_WAN = Decimal(1_000_000_000)

# Fields the importer may write; a column absent from the file leaves its field untouched.
WRITABLE = (
    "name",
    "town_id",
    "industry_id",
    "cluster_id",
    "employees",
    "employees_year",
    "revenue",
    "revenue_year",
    "size_class",
    "above_scale",
    "specialised",
    "contact_name",
    "contact_phone",
    "address",
    "registered_on",
    "status",
)


class CellError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Issue:
    row: int
    column: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


@dataclass
class ImportReport:
    rows_total: int = 0
    rows_valid: int = 0
    rows_invalid: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    written: bool = False
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_total": self.rows_total,
            "rows_valid": self.rows_valid,
            "rows_invalid": self.rows_invalid,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "written": self.written,
            "file_errors": self.file_errors,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
        }


# --- pure cell parsing -------------------------------------------------------------------


def normalise_header(text: Any) -> str:
    s = unicodedata.normalize("NFKC", str(text or ""))
    return re.sub(r"[\s*＊]", "", s)


def _plain(value: Any) -> str:
    """A cell as text, as written (names and addresses keep their full-width brackets)."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _text(value: Any) -> str:
    """A cell as text for codes, numbers and look-ups: full-width characters made half-width."""
    s = _plain(value)
    # NFKC leaves ASCII as it is; most cells of a large file are ASCII.
    return s if s.isascii() else unicodedata.normalize("NFKC", s).strip()


def parse_int(value: Any, *, what: Any) -> int | None:
    # A number cell (python-calamine gives floats) needs no text parsing when it is plainly fine.
    if type(value) is float and value.is_integer() and 0 <= value < _MAX_COUNT_INT:
        return int(value)
    if type(value) is int and 0 <= value < _MAX_COUNT_INT:
        return value
    s = _text(value).replace(",", "").replace(" ", "")
    if s == "":
        return None
    try:
        number = Decimal(s)
    except InvalidOperation:
        raise CellError(
            "not_a_number", _("%(what)s“%(v)s”不是数字") % {"what": what, "v": s}
        ) from None
    if not number.is_finite():
        raise CellError("not_a_number", _("%(what)s“%(v)s”不是数字") % {"what": what, "v": s})
    # Compare before int(): a cell such as 1e1000000 would otherwise build a huge number.
    if number >= MAX_COUNT:
        raise CellError("too_large", _("%(what)s %(v)s 超出合理范围") % {"what": what, "v": s})
    if number != number.to_integral_value():
        raise CellError("not_integer", _("%(what)s应为整数，实为 %(v)s") % {"what": what, "v": s})
    if number < 0:
        raise CellError("negative", _("%(what)s不能为负数") % {"what": what})
    return int(number)


def parse_wan_to_yuan(value: Any) -> Decimal | None:
    s = _text(value).replace(",", "").replace(" ", "")
    if s == "":
        return None
    try:
        wan = Decimal(s)
    except InvalidOperation:
        raise CellError("not_a_number", _("营业收入“%(v)s”不是数字") % {"v": s}) from None
    if not wan.is_finite():
        raise CellError("not_a_number", _("营业收入“%(v)s”不是数字") % {"v": s})
    if wan < 0:
        raise CellError("negative", _("营业收入不能为负数"))
    if wan >= MAX_REVENUE_WAN:
        raise CellError("too_large", _("营业收入 %(v)s 万元超出合理范围") % {"v": s})
    return (wan * WAN).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    s = _text(value).upper()
    if s == "":
        return None
    if s in TRUE_WORDS:
        return True
    if s in FALSE_WORDS:
        return False
    raise CellError("not_yes_no", _("“%(v)s”应为 是/否、Y/N 或 1/0") % {"v": s})


def parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    s = _text(value)
    if s == "":
        return None
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", s) or re.fullmatch(
        r"(\d{4})(\d{2})(\d{2})", s
    )
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    raise CellError("bad_date", _("日期“%(v)s”无法识别，请用 2020-03-15 格式") % {"v": s})


def parse_status(value: Any) -> str | None:
    s = _text(value).replace("，", ",").replace(" ", "")
    if s == "":
        return None
    s = s.replace("（", "(").replace("）", ")")
    if s in STATUS_WORDS:
        return STATUS_WORDS[s]
    for word, status in STATUS_WORDS.items():
        if s.startswith(word):
            return status
    raise CellError("bad_status", _("经营状态“%(v)s”无法识别") % {"v": s})


def parse_year(value: Any) -> int | None:
    year = parse_int(value, what=STATS_YEAR)
    if year is not None and not 1949 <= year <= 2100:
        raise CellError("bad_year", _("统计年度 %(v)s 不合理") % {"v": year})
    return year


def industry_code(value: Any) -> str:
    s = _text(value).upper().removeprefix("C")
    if not re.fullmatch(r"\d{2,4}", s):
        raise CellError("bad_industry", _("行业代码“%(v)s”应为两位数字的行业大类") % {"v": s})
    # A 3- or 4-digit GB/T 4754 class code begins with its 2-digit division.
    return s[:2]


# --- reading files ------------------------------------------------------------------------


def read_rows(path: Path) -> Iterator[list[Any]]:
    """Yield rows of cells from .xlsx/.xls/.ods (python-calamine) or .csv (UTF-8 or GB18030)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise CellError("encoding", _("CSV 文件编码无法识别，请另存为 UTF-8"))
        yield from csv.reader(io.StringIO(text))
        return
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        from python_calamine import CalamineWorkbook

        try:
            workbook = CalamineWorkbook.from_path(str(path))
            sheet = workbook.get_sheet_by_index(0)
        except Exception as exc:
            raise CellError("unreadable", _("无法读取表格文件：%(e)s") % {"e": exc}) from exc
        yield from sheet.iter_rows()
        return
    raise CellError("file_type", _("只支持 .xlsx 或 .csv 文件，收到的是“%(s)s”") % {"s": suffix})


@dataclass
class ReferenceMaps:
    towns: dict[str, int]
    industries: set[str]
    cluster_for_industry: dict[str, int]

    @classmethod
    def load(cls) -> ReferenceMaps:
        towns: dict[str, int] = {}
        for t in Town.objects.all():
            towns[t.name_zh] = t.pk
            towns[t.name_en.upper().replace(" ", "")] = t.pk
        industries = set(Industry.objects.values_list("code", flat=True))
        cluster_for_industry: dict[str, int] = {}
        for cluster in Cluster.objects.prefetch_related("industries"):
            for ind in cluster.industries.all():
                cluster_for_industry.setdefault(ind.code, cluster.pk)
        return cls(towns, industries, cluster_for_industry)

    def town_id(self, value: Any) -> int:
        s = _text(value).replace(" ", "")
        if s in self.towns:
            return self.towns[s]
        if s.upper() in self.towns:
            return self.towns[s.upper()]
        for suffix in TOWN_SUFFIXES:
            if s.endswith(suffix) and s.removesuffix(suffix) in self.towns:
                return self.towns[s.removesuffix(suffix)]
        raise CellError("unknown_town", _("镇街“%(v)s”不在本市镇街名单中") % {"v": s})


# Labels for messages, translated only when a message is shown (not once per row).
EMPLOYEES = gettext_lazy("从业人员")
STATS_YEAR = gettext_lazy("统计年度")

PARSERS: dict[str, Callable[[Any], Any]] = {
    "employees": lambda v: parse_int(v, what=EMPLOYEES),
    "revenue": parse_wan_to_yuan,
    "above_scale": parse_bool,
    "specialised": parse_bool,
    "registered_on": parse_date,
    "status": parse_status,
    "stats_year": parse_year,
    "employees_year": parse_year,
    "revenue_year": parse_year,
    "contact_name": lambda v: _plain(v)[:50] or None,
    "contact_phone": lambda v: _text(v)[:30] or None,
    "address": lambda v: _plain(v)[:300] or None,
}


@dataclass
class ParsedRow:
    row: int
    uscc: str
    values: dict[str, Any]


# Columns whose cells repeat across a file (towns, codes, yes/no, years, dates): each distinct
# text is parsed once per import. Unique columns (names, phones, addresses) are not kept.
MEMOISED = frozenset(
    {
        "town",
        "industry",
        "employees",
        "above_scale",
        "specialised",
        "registered_on",
        "status",
        "stats_year",
        "employees_year",
        "revenue_year",
    }
)
_MISSING = object()


def _memoised(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """parse, remembering its answer for each text or number cell (errors are raised afresh)."""
    memo: dict[str | float, Any] = {}

    def run(value: Any) -> Any:
        kind = type(value)
        if kind is not str and kind is not float:  # 1 == 1.0 == True: bools and ints are not keys
            return parse(value)
        found = memo.get(value, _MISSING)
        if found is _MISSING:
            found = memo[value] = parse(value)
        return found

    return run


class RowParser:
    """Turns spreadsheet rows into field values, or the errors that name their cells.

    Built once per file from its columns, so each row is a walk over a prepared plan."""

    def __init__(self, columns: dict[str, int], refs: ReferenceMaps, headers: list[str]) -> None:
        self.headers = headers
        self.columns = columns
        self.width = max(columns.values()) + 1

        def industry(value: Any) -> str:
            ind = industry_code(value)
            if ind not in refs.industries:
                raise CellError(
                    "unknown_industry", _("行业代码 %(v)s 不是制造业大类（13–43）") % {"v": ind}
                )
            return ind

        parsers: dict[str, Callable[[Any], Any]] = {
            "town_id": refs.town_id,
            "industry_id": industry,
            **PARSERS,
        }
        source = {"town_id": "town", "industry_id": "industry"}
        # (field, column index, parser); the required look-ups first, as their errors are.
        self.plan: list[tuple[str, str, int, Callable[[Any], Any]]] = []
        for key, parse in parsers.items():
            column_key = source.get(key, key)
            if column_key not in columns:
                continue
            if column_key in MEMOISED:
                parse = _memoised(parse)
            self.plan.append((key, column_key, columns[column_key], parse))

    def _issue(self, row_no: int, key: str, code: str, message: str) -> Issue:
        return Issue(row_no, self.headers[self.columns[key]], code, message)

    def parse(
        self, cells: list[Any], row_no: int
    ) -> tuple[ParsedRow | None, list[Issue], list[Issue]]:
        if len(cells) < self.width:
            cells = [*cells, *([None] * (self.width - len(cells)))]
        errors: list[Issue] = []
        warnings: list[Issue] = []
        values: dict[str, Any] = {}

        result = uscc_rules.validate(_text(cells[self.columns["uscc"]]))
        code = result.code
        if not code:
            errors.append(self._issue(row_no, "uscc", "required", _("统一社会信用代码不能为空")))
        elif result.errors or result.warnings:
            for issue in result.errors:
                errors.append(self._issue(row_no, "uscc", issue.code, str(issue.message)))
            for issue in result.warnings:
                warnings.append(self._issue(row_no, "uscc", issue.code, str(issue.message)))

        name = _plain(cells[self.columns["name"]])
        if not name:
            errors.append(self._issue(row_no, "name", "required", _("企业名称不能为空")))
        elif len(name) > 200:
            errors.append(self._issue(row_no, "name", "too_long", _("企业名称超过 200 字")))
        values["name"] = name

        for key, column_key, idx, parse in self.plan:
            try:
                parsed = parse(cells[idx])
            except CellError as e:
                errors.append(self._issue(row_no, column_key, e.code, e.message))
                continue
            if parsed is not None:
                values[key] = parsed
        if errors:
            return None, errors, warnings
        return ParsedRow(row_no, code, values), errors, warnings


def map_columns(header_cells: list[Any]) -> tuple[dict[str, int], list[str], list[str]]:
    """Canonical field → column index; plus the headers as written and any problems."""
    headers = [_plain(h) for h in header_cells]
    wanted = {normalise_header(alias): key for key, aliases in HEADERS.items() for alias in aliases}
    columns: dict[str, int] = {}
    problems: list[str] = []
    for idx, header in enumerate(headers):
        key = wanted.get(normalise_header(header))
        if key is None:
            continue
        if key in columns:
            problems.append(
                _("第 %(a)d 列“%(h)s”与第 %(b)d 列重复")
                % {"a": idx + 1, "h": header, "b": columns[key] + 1}
            )
            continue
        columns[key] = idx
    for key in REQUIRED:
        if key not in columns:
            problems.append(_("缺少必填列“%(h)s”") % {"h": HEADERS[key][0]})
    return columns, headers, problems


# --- the whole import ---------------------------------------------------------------------

Progress = Callable[[str, int, int], None]


def _noop(phase: str, done: int, total: int) -> None:
    return None


def _merged(existing: dict[str, Any] | None, values: dict[str, Any], refs: ReferenceMaps) -> dict:
    """The record after applying the file's values; absent columns keep what was there."""
    record: dict[str, Any] = dict(existing or {})
    year = values.get("stats_year")
    for key, value in values.items():
        if key != "stats_year":
            record[key] = value
    # 统计年度 dates the figures in the row unless a column gives each its own year.
    if "employees" in values and year is not None and "employees_year" not in values:
        record["employees_year"] = year
    if "revenue" in values and year is not None and "revenue_year" not in values:
        record["revenue_year"] = year
    if existing is None or not existing.get("cluster_overridden"):
        record["cluster_id"] = refs.cluster_for_industry.get(record["industry_id"])
    record["size_class"] = str(size_class(record.get("employees"), record.get("revenue")))
    return record


AUDIT_BATCH = 1000
# A load of at least this many new rows, into a table holding no more than that, builds the
# table's indexes afresh at the end (`deferred_indexes`); below it the DDL is not worth it.
BULK_LOAD_MIN_ROWS = 10_000
# A write this large changes the table's statistics enough to refresh them at once.
ANALYZE_AFTER_ROWS = 10_000


# The key of an import batch's audit entry that names the fields of its new rows.
AUDIT_FIELDS_KEY = "_fields"


def import_rows_slice(entry_before: Any, entry_after: Any, key: str) -> tuple[Any, Any]:
    """One enterprise's (before, after) in an import batch's audit entry: a new row is stored
    as a list of values in the order of the entry's `_fields`, a changed row as the fields it
    changed."""
    after = (entry_after or {}).get(key)
    if isinstance(after, list):
        after = dict(zip((entry_after or {}).get(AUDIT_FIELDS_KEY, ()), after, strict=False))
    return (entry_before or {}).get(key), after


def _row_audit_entries(
    path: Path,
    file_hash: str,
    to_create: list[dict[str, Any]],
    to_update: list[tuple[dict[str, Any], dict[str, Any]]],
) -> list[dict[str, Any]]:
    """One audit entry per batch of rows: `before` and `after` map each enterprise id to its
    values, so an enterprise's history finds its rows (has_key) and every value is kept,
    without one hashed entry per row (which would dominate a 200,000-row import). New rows are
    lists in the order of `_fields`: a third of the text of a dict per row."""
    changes: list[tuple[str, dict[str, Any] | None, Any]] = [
        (str(r["id"]), None, list(map(r.get, WRITABLE))) for r in to_create
    ]
    changes += [
        (str(before["id"]), {k: before.get(k) for k in diff}, diff) for before, diff in to_update
    ]
    entries = []
    for start in range(0, len(changes), AUDIT_BATCH):
        part = changes[start : start + AUDIT_BATCH]
        after: dict[str, Any] = {eid: a for eid, _b, a in part}
        if any(b is None for _eid, b, _a in part):
            after[AUDIT_FIELDS_KEY] = list(WRITABLE)
        entries.append(
            {
                "action": "enterprise.import_rows",
                "object_type": "enterprises.enterprise",
                "object_id": f"{file_hash[:16]}:{start // AUDIT_BATCH + 1}",
                "object_label": f"{path.name} · {len(part)}",
                "before_json": canonical_json({eid: b for eid, b, _a in part if b is not None}),
                "after_json": canonical_json(after),
            }
        )
    return entries


def _write_portable(
    to_create: list[dict[str, Any]],
    to_update: list[tuple[dict[str, Any], dict[str, Any]]],
    now: dt.datetime,
    chunk: int,
    progress: Progress,
) -> None:
    done = 0
    total = len(to_create) + len(to_update)
    for start in range(0, len(to_create), chunk):
        objs = [
            Enterprise(created_at=now, updated_at=now, **r)
            for r in to_create[start : start + chunk]
        ]
        Enterprise.objects.bulk_create(objs)
        for record, obj in zip(to_create[start : start + chunk], objs, strict=True):
            record["id"] = obj.pk
        done += len(objs)
        progress("writing", done, total)
    by_field: dict[frozenset[str], list[Enterprise]] = {}
    for before, diff in to_update:
        obj = Enterprise(id=before["id"], updated_at=now, **diff)
        by_field.setdefault(frozenset(diff), []).append(obj)
    for changed_fields, objs in by_field.items():
        for start in range(0, len(objs), chunk):
            Enterprise.objects.bulk_update(
                objs[start : start + chunk], [*changed_fields, "updated_at"]
            )
            done += len(objs[start : start + chunk])
            progress("writing", done, total)


class _NewRows:
    """Where the valid new rows of an import go.

    On PostgreSQL they go to the table while the rest of the file is still being checked: a
    writer thread sends them in batches, one COPY each, so the server inserts them and checks
    their foreign keys (at the end of each COPY) on the other core while this thread parses
    the next batch. A load at least as large as the table (a first load of the city's list)
    builds the secondary indexes afresh at the end instead of row by row
    (`deferred_indexes`). Elsewhere the rows are collected for bulk_create. Either way this
    happens inside the import's one transaction: an invalid row later in the file, or a
    killed worker, leaves nothing behind.
    """

    BATCH = 20_000

    def __init__(
        self, stack: ExitStack, *, stream: bool, now: dt.datetime, most: int, bulk: bool = False
    ) -> None:
        self.stack = stack
        self.stream = stream and connection.vendor == "postgresql"
        self.most = most  # an upper bound on the new rows, to reserve their ids at once
        self._deferred = deferred_indexes(Enterprise) if bulk and self.stream else None
        self._wait: Callable[[], None] = lambda: None
        self.records: list[dict[str, Any]] = []
        self.discarding = False
        self._ids: list[int] = []
        self._batch: list[tuple[Any, ...]] = []
        self._queue: queue.SimpleQueue[list[tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._opened = False
        fields = Enterprise._meta.concrete_fields
        self._row = operator.itemgetter(*[f.attname for f in fields])
        self._columns = [f.column for f in fields]
        self._defaults = {f.attname: f.get_default() for f in fields}
        # One text for every row: formatting the same datetime 200,000 times is a third of
        # the COPY's client time.
        self._defaults["created_at"] = self._defaults["updated_at"] = now.isoformat()

    def add(self, record: dict[str, Any]) -> None:
        if self.discarding:
            return
        self.records.append(record)
        if not self.stream:
            return
        if self._writer is None:
            self._open()
        record["id"] = self._ids.pop()
        self._batch.append(self._row({**self._defaults, **record}))
        if len(self._batch) >= self.BATCH:
            self._queue.put(self._batch)
            self._batch = []

    def discard(self) -> None:
        """Nothing will be written (an invalid row): keep checking, stop sending."""
        self.discarding = True
        self.records = []
        self._batch = []

    def _open(self) -> None:
        self._opened = True
        table = Enterprise._meta.db_table
        if self._deferred is not None and not self._deferred.drop():
            self._deferred = None  # the table is busy: this load keeps its indexes
        # The ids first: the writer thread has the connection from here on.
        self._ids = list(reversed(reserve_ids(table, self.most)))
        with connection.cursor() as cursor:
            # Foreign keys checked at the end of each batch's COPY, not all at COMMIT.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        raw = connection.connection
        assert raw is not None
        cols = ", ".join(connection.ops.quote_name(c) for c in self._columns)
        sql = f"COPY {connection.ops.quote_name(table)} ({cols}) FROM STDIN"

        def send() -> None:
            try:
                while (batch := self._queue.get()) is not None:
                    if self.discarding:
                        continue
                    with raw.cursor() as cursor, cursor.copy(sql) as copy:
                        for row in batch:
                            copy.write_row(row)
            except BaseException as exc:  # handed over when the caller waits
                self._failure = exc
                while self._queue.get() is not None:
                    pass

        self._writer = threading.Thread(target=send, name="import-writer", daemon=True)
        self._writer.start()
        # Whatever happens, the writer is done with the connection before the transaction
        # ends (the stack closes inside it).
        self.stack.callback(self._sent)

    def _sent(self) -> None:
        """Send the last batch and wait until the server has taken every row."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        if self._batch:
            self._queue.put(self._batch)
            self._batch = []
        self._queue.put(None)
        writer.join()
        failure, self._failure = self._failure, None
        if failure is not None and not self.discarding:
            with connection.wrap_database_errors:  # a refused row as Django's IntegrityError
                raise failure

    def end(self) -> None:
        """A load with deferred indexes: finish sending and start building the indexes, so the
        caller's next work overlaps with the server's. Otherwise the writer goes on sending
        the last rows while the caller works."""
        if self._writer is not None and self._deferred is not None and not self.discarding:
            self._sent()
            self._wait = self._deferred.rebuild()
            self.stack.callback(self._waited)

    def _waited(self) -> None:
        wait, self._wait = self._wait, lambda: None
        wait()

    def close(self) -> None:
        self.stack.close()
        if self._opened:
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _write_updates_postgres(
    to_update: list[tuple[dict[str, Any], dict[str, Any]]], now: dt.datetime
) -> None:
    """Changed rows COPY into a temp table joined by one UPDATE: bulk_update's result, several
    times faster at 100k rows."""
    table = Enterprise._meta.db_table
    columns = [str(Enterprise._meta.get_field(k).column) for k in WRITABLE]  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        # CREATE TABLE AS copies the column types but none of the NOT NULL constraints.
        cursor.execute(
            f"CREATE TEMP TABLE import_update ON COMMIT DROP AS "
            f"SELECT id, {', '.join(columns)}, updated_at FROM {table} WITH NO DATA"
        )
        copy_rows(
            "import_update",
            ["id", *columns, "updated_at"],
            (
                [before["id"], *[diff.get(k, before.get(k)) for k in WRITABLE], now]
                for before, diff in to_update
            ),
        )
        assignments = ", ".join(f"{c} = u.{c}" for c in [*columns, "updated_at"])
        cursor.execute(
            f"UPDATE {table} AS e SET {assignments} FROM import_update AS u WHERE e.id = u.id"
        )
        cursor.execute("DROP TABLE import_update")


def _stored(codes: list[str], chunk: int) -> dict[str, dict[str, Any]]:
    """The stored fields of the enterprises these credit codes name."""
    fields = ["id", "uscc", "cluster_overridden", *WRITABLE]
    existing: dict[str, dict[str, Any]] = {}
    if not codes:
        return existing
    if connection.vendor == "postgresql":
        # One array parameter instead of thousands of IN placeholders.
        for rec in Enterprise.objects.extra(where=["uscc = ANY(%s)"], params=[codes]).values(
            *fields
        ):
            existing[rec["uscc"]] = rec
    else:
        for start in range(0, len(codes), chunk):
            part = codes[start : start + chunk]
            for rec in Enterprise.objects.filter(uscc__in=part).values(*fields):
                existing[rec["uscc"]] = rec
    return existing


def import_enterprises(
    path: Path,
    *,
    actor: Any = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress: Progress = _noop,
    chunk: int = 2000,
) -> tuple[ImportReport, list[tuple[list[Any], str]]]:
    """Validate every row, then upsert by credit code in one transaction.

    Returns the report and the rejected rows (cells plus a joined error message), so a
    caller can offer them back as a file. All-or-nothing unless skip_invalid.
    """
    with collector_paused():
        return _import(
            path,
            actor=actor,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            progress=progress,
            chunk=chunk,
        )


def _import(
    path: Path,
    *,
    actor: Any,
    skip_invalid: bool,
    dry_run: bool,
    progress: Progress,
    chunk: int,
) -> tuple[ImportReport, list[tuple[list[Any], str]]]:
    report = ImportReport()
    rejected: list[tuple[list[Any], str]] = []
    progress("reading", 0, 0)
    try:
        rows = list(read_rows(path))
    except CellError as e:
        report.file_errors.append(e.message)
        return report, rejected
    while rows and not any(_text(c) for c in rows[-1]):
        rows.pop()
    if not rows:
        report.file_errors.append(_("文件是空的"))
        return report, rejected
    columns, headers, problems = map_columns(rows[0])
    if problems:
        report.file_errors.extend(problems)
        return report, rejected
    used = set(columns.values())
    for idx, header in enumerate(headers):
        if header and idx not in used:
            report.warnings.append(
                Issue(1, header, "unknown_column", _("未识别的列，已忽略（请使用模板中的表头）"))
            )

    refs = ReferenceMaps.load()
    parser = RowParser(columns, refs, headers)
    body = rows[1:]
    total = len(body)
    # What is stored for the file's codes, looked up before checking the rows so that new
    # rows can be written while the rest are still being checked.
    col = columns["uscc"]
    stored_rows = Enterprise.objects.count()
    # A first load into an empty registry has nothing to look up.
    existing = (
        _stored(
            list({uscc_rules.normalise(_text(c[col])) for c in body if col < len(c)} - {""}),
            chunk,
        )
        if stored_rows
        else {}
    )
    now = timezone.now()
    first_row_of: dict[str, int] = {}
    to_update: list[tuple[dict[str, Any], dict[str, Any]]] = []
    unchanged = 0
    progress("validating", 0, total)
    # Streaming writes while checking, so the check runs inside the import's transaction. On
    # SQLite that would hold the write lock for the whole check: it writes afterwards.
    stream = not dry_run and connection.vendor == "postgresql"
    with transaction.atomic() if stream else nullcontext(), ExitStack() as stack:
        most_new = max(1, total - len(existing))
        bulk = stream and most_new >= max(stored_rows, BULK_LOAD_MIN_ROWS)
        new = _NewRows(stack, stream=stream, now=now, most=most_new, bulk=bulk)
        for i, cells in enumerate(body):
            row_no = i + 2  # the header is row 1, as a person counts in the spreadsheet
            if not any(_text(c) for c in cells):
                continue
            report.rows_total += 1
            row, errors, warnings = parser.parse(cells, row_no)
            report.warnings.extend(warnings)
            if row is not None and row.uscc in first_row_of:
                errors.append(
                    Issue(
                        row_no,
                        headers[columns["uscc"]],
                        "duplicate",
                        _("统一社会信用代码与第 %(r)d 行重复") % {"r": first_row_of[row.uscc]},
                    )
                )
                row = None
            if row is None:
                report.rows_invalid += 1
                report.errors.extend(errors)
                rejected.append((list(cells), "；".join(e.message for e in errors)))
                if not skip_invalid:
                    new.discard()
                continue
            first_row_of[row.uscc] = row_no
            report.rows_valid += 1
            before = existing.get(row.uscc)
            after = _merged(before, row.values, refs)
            if before is None:
                record = {k: after[k] for k in WRITABLE if k in after}
                record["uscc"] = row.uscc
                new.add(record)
            else:
                diff = {k: after[k] for k in WRITABLE if k in after and after[k] != before.get(k)}
                if diff:
                    to_update.append((before, diff))
                else:
                    unchanged += 1
            if report.rows_total % 1000 == 0:
                progress("validating", i + 1, total)
        new.end()
        entries: list[dict[str, Any]] | None = None
        file_hash = ""
        if stream and not (report.rows_invalid and not skip_invalid):
            # The audit text of every row, made while the writer thread sends the last rows.
            file_hash = hashlib.sha256(path.read_bytes()).hexdigest()
            entries = _row_audit_entries(path, file_hash, new.records, to_update)
        new.close()
        progress("validating", total, total)

        if report.rows_invalid and not skip_invalid:
            if stream:
                transaction.set_rollback(True)
            return report, rejected
        report.created, report.updated, report.unchanged = (
            report.rows_valid - len(to_update) - unchanged,
            len(to_update),
            unchanged,
        )
        if dry_run:
            return report, rejected

        written = len(new.records) + len(to_update)
        progress("writing", len(new.records) if stream else 0, written)
        file_hash = file_hash or hashlib.sha256(path.read_bytes()).hexdigest()
        # The streaming transaction already holds the new rows (this is a savepoint in it);
        # on SQLite this is the import's one transaction.
        with transaction.atomic():
            if not stream:
                _write_portable(new.records, to_update, now, chunk, progress)
            elif to_update:
                _write_updates_postgres(to_update, now)
            if written:
                data_changed("enterprises")  # COPY and bulk writes send no signals
            progress("writing", written, written)
            audit_record(
                actor=actor,
                action="enterprise.import",
                object_type="enterprises.importfile",
                object_id=file_hash[:16],
                object_label=path.name,
                after={
                    "file_sha256": file_hash,
                    "rows_total": report.rows_total,
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "skipped_invalid": report.rows_invalid,
                },
            )
            if entries is None:  # new rows have their ids only now (bulk_create)
                entries = _row_audit_entries(path, file_hash, new.records, to_update)
            audit_record_many(actor=actor, entries=entries)
    if written >= ANALYZE_AFTER_ROWS:
        analyze(Enterprise)
    report.written = True
    progress("done", total, total)
    return report, rejected
