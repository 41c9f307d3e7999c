"""`import`: one generated xlsx of enterprises through three pipelines, same file, same database.

- ours: `yunshu import-enterprises FILE` (full validation, upsert by credit code, audit);
- import_export: django-import-export into the same Enterprise model with use_bulk=True;
- raw_copy: python-calamine read + minimal parsing + psycopg COPY into a bare table
  (PostgreSQL only: the limit of the hardware and drivers, with no validation at all).

Each pipeline starts from an empty enterprise table in a scratch database next to
DATABASE_URL's, and is timed as a whole command (start-up included), the way an official
would run it.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from .common import PYTHON, VAR, on_postgres, run, sibling_database

TOWN_CSV = Path(__file__).resolve().parent.parent / "yunshu" / "core" / "data" / "towns.csv"
INDUSTRY_CSV = TOWN_CSV.with_name("industries.csv")


def make_file(rows: int, *, seed: int = 5) -> Path:
    """The benchmark's input, generated once per (rows, seed) and kept under var/bench/."""
    import csv

    from openpyxl import Workbook

    from yunshu.core.demo import BRANDS, ROADS, SUFFIXES, SURNAMES, TRADES, make_uscc
    from yunshu.enterprises.importer import EXPORT_HEADERS

    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / f"import-{rows}-{seed}.xlsx"
    if path.exists():
        return path
    rng = random.Random(seed)
    towns = [r["name_zh"] for r in csv.DictReader(TOWN_CSV.open(encoding="utf-8"))]
    industries = [r["code"] for r in csv.DictReader(INDUSTRY_CSV.open(encoding="utf-8"))]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("企业名单")
    ws.append([header for _key, header in EXPORT_HEADERS])
    seen: set[str] = set()
    for _ in range(rows):
        code = make_uscc(rng)
        while code in seen:
            code = make_uscc(rng)
        seen.add(code)
        ind = rng.choice(industries)
        town = rng.choice(towns)
        employees = max(1, int(rng.lognormvariate(3.2, 1.0)))
        revenue_wan = round(employees * rng.lognormvariate(3.5, 0.6), 2)
        ws.append(
            [
                code,
                f"东莞市{rng.choice(BRANDS)}{TRADES.get(ind, '制造')}{rng.choice(SUFFIXES)}",
                town,
                ind,
                employees,
                revenue_wan,
                2025,
                2025,
                "是" if revenue_wan >= 2000 else "否",
                "是" if rng.random() < 0.03 else "否",
                rng.choice(SURNAMES) + "先生",
                f"13{rng.randint(100_000_000, 999_999_999)}",
                f"东莞市{town}{rng.choice(ROADS)}{rng.randint(1, 300)}号",
                dt.date(
                    rng.randint(1995, 2023), rng.randint(1, 12), rng.randint(1, 28)
                ).isoformat(),
                "存续",
            ]
        )
    tmp = path.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    tmp.rename(path)
    return path


def _prepare(url: str) -> None:
    """Migrate the scratch database (quick when current) and empty the enterprise table."""
    env = {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.dev", "DEBUG": "0"}
    run([PYTHON, "manage.py", "migrate", "--verbosity", "0"], env=env)
    run([PYTHON, "-m", "bench.import_bench", "empty"], env=env)


def _empty() -> None:
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # CASCADE reaches the audit log through users; empty it and its head together so
            # the scratch database's chain still verifies.
            cur.execute("truncate enterprises_enterprise, core_auditentry, core_audithead cascade")
            cur.execute("drop table if exists bench_raw_enterprise")
        else:
            from yunshu.enterprises.models import Enterprise

            Enterprise.objects.all().delete()


def _import_export(path: str) -> None:
    """django-import-export, its faster bulk mode, into the same model."""
    import django

    django.setup()
    import tablib
    from import_export import fields, resources, widgets
    from import_export.instance_loaders import CachedInstanceLoader

    from yunshu.core.models import Industry, Town
    from yunshu.enterprises.models import Enterprise

    class YesNo(widgets.BooleanWidget):
        TRUE_VALUES = ["是", "1", 1, True]
        FALSE_VALUES = ["否", "0", 0, False]

    class EnterpriseResource(resources.ModelResource):
        uscc = fields.Field(attribute="uscc", column_name="统一社会信用代码")
        name = fields.Field(attribute="name", column_name="企业名称")
        town = fields.Field(
            attribute="town",
            column_name="所属镇街",
            widget=widgets.ForeignKeyWidget(Town, field="name_zh"),
        )
        industry = fields.Field(
            attribute="industry",
            column_name="行业代码",
            widget=widgets.ForeignKeyWidget(Industry, field="code"),
        )
        employees = fields.Field(
            attribute="employees", column_name="从业人员", widget=widgets.IntegerWidget()
        )
        revenue = fields.Field(
            attribute="revenue", column_name="营业收入（万元）", widget=widgets.DecimalWidget()
        )
        above_scale = fields.Field(attribute="above_scale", column_name="是否规上", widget=YesNo())
        specialised = fields.Field(
            attribute="specialised", column_name="是否专精特新", widget=YesNo()
        )
        contact_name = fields.Field(attribute="contact_name", column_name="联系人")
        contact_phone = fields.Field(attribute="contact_phone", column_name="联系电话")
        address = fields.Field(attribute="address", column_name="地址")
        registered_on = fields.Field(
            attribute="registered_on", column_name="成立日期", widget=widgets.DateWidget("%Y-%m-%d")
        )

        class Meta:
            model = Enterprise
            use_bulk = True
            batch_size = 1000
            # Its bulk-import documentation's advice: load existing rows in one query.
            instance_loader_class = CachedInstanceLoader
            import_id_fields = ("uscc",)
            skip_diff = True
            fields = (
                "uscc",
                "name",
                "town",
                "industry",
                "employees",
                "revenue",
                "above_scale",
                "specialised",
                "contact_name",
                "contact_phone",
                "address",
                "registered_on",
            )

    with open(path, "rb") as fh:
        data = tablib.Dataset().load(fh, format="xlsx")
    result = EnterpriseResource().import_data(data, raise_errors=True)
    if result.has_errors() or result.has_validation_errors():
        raise SystemExit("django-import-export reported errors")
    print(Enterprise.objects.count())


def _raw_copy(url: str, path: Path) -> int:
    """The floor: read, strip, convert numbers, COPY. No validation, no upsert, no audit."""
    import psycopg
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows()
    next(rows)
    with psycopg.connect(url) as conn:
        conn.execute(
            "create table if not exists bench_raw_enterprise (uscc text, name text, town text,"
            " industry text, employees integer, revenue numeric, stats_year integer,"
            " employees_year integer, above_scale boolean, specialised boolean, contact_name text,"
            " contact_phone text, address text, registered_on date, status text)"
        )
        conn.execute("truncate bench_raw_enterprise")
        n = 0
        with conn.cursor().copy("copy bench_raw_enterprise from stdin") as copy:
            for r in rows:
                copy.write_row(
                    (
                        str(r[0]).strip(),
                        str(r[1]).strip(),
                        str(r[2]).strip(),
                        str(r[3]).strip(),
                        int(r[4]),  # type: ignore[arg-type]
                        str(r[5]),
                        int(r[6]),  # type: ignore[arg-type]
                        int(r[7]),  # type: ignore[arg-type]
                        r[8] == "是",
                        r[9] == "是",
                        str(r[10]).strip(),
                        str(r[11]).strip(),
                        str(r[12]).strip(),
                        str(r[13]),
                        str(r[14]),
                    )
                )
                n += 1
        conn.commit()
    return n


def measure(rows: int) -> dict[str, Any]:
    import time

    path = make_file(rows)
    url = sibling_database("import")
    env = {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.dev", "DEBUG": "0"}
    figures: dict[str, float | None] = {}
    notes: list[str] = []

    _prepare(url)
    seconds, _out = run([PYTHON, "-m", "yunshu.cli", "import-enterprises", str(path)], env=env)
    ours = rows / seconds
    # A second run of the same file: every row is compared and found unchanged.
    seconds_again, _out = run(
        [PYTHON, "-m", "yunshu.cli", "import-enterprises", str(path)], env=env
    )

    _prepare(url)
    iep_seconds, _out = run(
        [PYTHON, "-m", "bench.import_bench", "import_export", str(path)], env=env
    )
    figures["import_export"] = rows / iep_seconds

    if on_postgres(url):
        _prepare(url)
        t0 = time.perf_counter()
        _raw_copy(url, path)
        figures["raw_copy"] = rows / (time.perf_counter() - t0)
    else:
        figures["raw_copy"] = None
        notes.append("raw_copy needs PostgreSQL (COPY); not applicable on SQLite")
    _prepare(url)

    baselines = {k: round(v, 1) if v else None for k, v in figures.items()}
    ratios = {k: round(ours / v, 3) if v else None for k, v in figures.items()}
    notes.append(
        f"re-import of the same file (all rows unchanged): {rows / seconds_again:,.0f} rows/s"
    )
    return {
        "scale": {"rows": rows, "file": path.name},
        "value": round(ours, 1),
        "unit": "rows/s",
        "baselines": baselines,
        "ratios": ratios,
        "targets": {"import_export": ">= 10", "raw_copy": ">= 0.25"},
        "notes": "; ".join(notes),
    }


if __name__ == "__main__":
    import sys

    match sys.argv[1:]:
        case ["empty"]:
            _empty()
        case ["import_export", file]:
            _import_export(file)
        case _:
            raise SystemExit("usage: python -m bench.import_bench empty|import_export FILE")
