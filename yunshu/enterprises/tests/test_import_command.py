"""`manage.py import_enterprises` / `yunshu import-enterprises`: exit codes, --report, flags."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from yunshu.core.audit import audit_verify
from yunshu.core.models import AuditEntry
from yunshu.enterprises.models import Enterprise
from yunshu.enterprises.tests.test_importer import HEADER, basic_row, code, write_csv, write_xlsx
from yunshu.factories import EnterpriseFactory

REPORT_KEYS = {
    "rows_total",
    "rows_valid",
    "rows_invalid",
    "created",
    "updated",
    "unchanged",
    "errors",
    "warnings",
}


def import_cmd(path: Path, *args: str) -> tuple[int, str, str]:
    """Run the command as the CLI would; (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_enterprises", str(path), *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def read_report(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text("utf-8"))
    assert set(data) >= REPORT_KEYS
    return data


@pytest.mark.django_db
def test_clean_file_exits_0_and_writes_the_report(tmp_path: Path) -> None:
    source = write_xlsx(tmp_path / "list.xlsx", HEADER, [basic_row(200), basic_row(201)])
    report_path = tmp_path / "report.json"
    status, out, _err = import_cmd(source, "--report", str(report_path))
    assert status == 0
    data = read_report(report_path)
    assert {k: data[k] for k in REPORT_KEYS - {"errors", "warnings"}} == {
        "rows_total": 2,
        "rows_valid": 2,
        "rows_invalid": 0,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
    }
    assert data["errors"] == [] and data["warnings"] == []
    assert "created 2" in out
    assert Enterprise.objects.count() == 2


@pytest.mark.django_db
def test_invalid_row_exits_1_writes_nothing_and_reports_row_column_code_message(
    tmp_path: Path,
) -> None:
    rows = [basic_row(202), basic_row(203), basic_row(204, town="火星镇", employees="很多")]
    source = write_xlsx(tmp_path / "list.xlsx", HEADER, rows)
    report_path = tmp_path / "report.json"
    status, _out, err = import_cmd(source, "--report", str(report_path))
    assert status == 1
    assert Enterprise.objects.count() == 0
    data = read_report(report_path)
    assert (data["rows_total"], data["rows_valid"], data["rows_invalid"]) == (3, 2, 1)
    assert (data["created"], data["updated"]) == (0, 0)
    assert data["errors"] == [
        {
            "row": 4,
            "column": "所属镇街",
            "code": "unknown_town",
            "message": "镇街“火星镇”不在本市镇街名单中",
        },
        {
            "row": 4,
            "column": "从业人员",
            "code": "not_a_number",
            "message": "从业人员“很多”不是数字",
        },
    ]
    assert "row 4, 所属镇街: 镇街“火星镇”不在本市镇街名单中 [unknown_town]" in err


@pytest.mark.django_db
def test_warning_only_file_exits_0_and_lists_the_warning(tmp_path: Path) -> None:
    outside = code(205, area="110105")
    source = write_xlsx(tmp_path / "list.xlsx", HEADER, [basic_row(205, uscc=outside)])
    report_path = tmp_path / "report.json"
    status, _out, _err = import_cmd(source, "--report", str(report_path))
    assert status == 0
    data = read_report(report_path)
    assert data["created"] == 1 and data["errors"] == []
    assert [(w["row"], w["column"], w["code"]) for w in data["warnings"]] == [
        (2, "统一社会信用代码", "area_outside")
    ]
    assert Enterprise.objects.filter(uscc=outside).exists()


@pytest.mark.django_db
def test_dry_run_writes_nothing_and_exits_0(tmp_path: Path) -> None:
    existing = EnterpriseFactory(uscc=code(206), name="旧名称有限公司")
    source = write_xlsx(tmp_path / "list.xlsx", HEADER, [basic_row(206), basic_row(207)])
    report_path = tmp_path / "report.json"
    audit_count = AuditEntry.objects.count()
    status, out, _err = import_cmd(source, "--dry-run", "--report", str(report_path))
    assert status == 0
    data = read_report(report_path)
    assert (data["created"], data["updated"], data["unchanged"]) == (1, 1, 0)
    assert "nothing written" in out
    assert Enterprise.objects.count() == 1
    existing.refresh_from_db()
    assert existing.name == "旧名称有限公司"
    assert AuditEntry.objects.count() == audit_count


@pytest.mark.django_db
def test_dry_run_with_an_invalid_row_exits_1(tmp_path: Path) -> None:
    source = write_xlsx(tmp_path / "list.xlsx", HEADER, [basic_row(208, industry="99")])
    status, _out, err = import_cmd(source, "--dry-run")
    assert status == 1
    assert "[unknown_industry]" in err
    assert Enterprise.objects.count() == 0


@pytest.mark.django_db
def test_skip_invalid_writes_the_valid_rows_and_still_exits_1(tmp_path: Path) -> None:
    rows = [basic_row(209), basic_row(210, uscc=code(209)), basic_row(211)]
    source = write_xlsx(tmp_path / "list.xlsx", HEADER, rows)
    report_path = tmp_path / "report.json"
    status, _out, _err = import_cmd(source, "--skip-invalid", "--report", str(report_path))
    assert status == 1
    data = read_report(report_path)
    assert (data["rows_valid"], data["rows_invalid"], data["created"]) == (2, 1, 2)
    assert [(e["row"], e["code"]) for e in data["errors"]] == [(3, "duplicate")]
    assert set(Enterprise.objects.values_list("uscc", flat=True)) == {code(209), code(211)}
    assert audit_verify()[1] is None


@pytest.mark.django_db
def test_importing_the_same_file_twice_reports_0_created_0_updated(tmp_path: Path) -> None:
    rows = [basic_row(n, employees=f"{n},000", revenue=f" {n}.5 ") for n in range(212, 217)]
    source = write_csv(tmp_path / "list.csv", HEADER, rows)
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert import_cmd(source, "--report", str(first))[0] == 0
    assert import_cmd(source, "--report", str(second))[0] == 0
    assert read_report(first)["created"] == 5
    data = read_report(second)
    assert (data["created"], data["updated"], data["unchanged"]) == (0, 0, 5)
    n, problem = audit_verify()
    assert problem is None and n >= 3
    assert AuditEntry.objects.filter(action="enterprise.import").count() == 2
    # The first run's batch names the 5 new rows; the second run changed nothing.
    batches = AuditEntry.objects.filter(action="enterprise.import_rows")
    assert [len(b.after) - 1 for b in batches] == [5]  # and the `_fields` key


@pytest.mark.django_db
def test_missing_required_column_exits_1_with_the_column_on_stderr(tmp_path: Path) -> None:
    source = write_xlsx(
        tmp_path / "list.xlsx",
        ["统一社会信用代码", "企业名称", "所属镇街"],
        [[code(217), "某公司", "虎门"]],
    )
    report_path = tmp_path / "report.json"
    status, _out, err = import_cmd(source, "--report", str(report_path))
    assert status == 1
    assert "缺少必填列“行业代码”" in err
    assert Enterprise.objects.count() == 0
    assert report_path.exists()


@pytest.mark.django_db
def test_missing_file_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_enterprises", str(tmp_path / "nope.xlsx"))


@pytest.mark.django_db
def test_non_finite_number_in_a_file_is_a_row_error_with_exit_1(tmp_path: Path) -> None:
    # BUG: parse_int("inf") raises OverflowError, which escapes import_enterprises, so the
    # command dies with a traceback instead of naming row 3, 从业人员.
    rows = [basic_row(218), basic_row(219, employees="inf")]
    source = write_xlsx(tmp_path / "list.xlsx", HEADER, rows)
    report_path = tmp_path / "report.json"
    status, _out, _err = import_cmd(source, "--report", str(report_path))
    assert status == 1
    data = read_report(report_path)
    assert [(e["row"], e["column"]) for e in data["errors"]] == [(3, "从业人员")]


def test_console_script_exits_1_and_names_the_missing_column(tmp_path: Path) -> None:
    """The real `yunshu` entry point. A broken header stops before any database query."""
    script = Path(sys.executable).parent / "yunshu"
    source = write_csv(tmp_path / "broken.csv", ["企业名称", "从业人员"], [["某公司", "5"]])
    env = {
        **os.environ,
        # Never the developer's database: a throwaway SQLite file and var dir.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "YUNSHU_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
    }
    result = subprocess.run(
        [str(script), "import-enterprises", str(source), "--dry-run"],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "缺少必填列“统一社会信用代码”" in result.stderr
    assert "rows 0" in result.stdout


def test_console_script_lists_import_enterprises() -> None:
    script = Path(sys.executable).parent / "yunshu"
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    assert "import-enterprises" in result.stdout
