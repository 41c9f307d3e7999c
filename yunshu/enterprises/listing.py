"""The enterprise list's rows: plain values, and their table row built in Python.

At 50 to 100 rows a page, model instances (an enterprise with its town, industry and
cluster) and a template variable per cell (with url, intcomma and widthratio) cost most of
the page's time. These rows are read with values(), and each renders its own <tr> with every
value escaped; the table around them, and everything else, stays in the template. Town and
cluster names come from the per-process reference lists (core.reference) rather than two
joins: PostgreSQL then plans and runs a single-table query. The cost: after a superuser
renames a town in the admin, other processes show the old name for up to five minutes (the
lists' TTL), as the filter menus always have.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from yunshu.core.forms import esc as escape
from yunshu.core.reference import reference_names
from yunshu.core.size_class import SizeClass

from .models import Enterprise, Verification

ROW_FIELDS = (
    "id",
    "name",
    "uscc",
    "town_id",
    "cluster_id",
    "size_class",
    "employees",
    "revenue",
    "above_scale",
    "specialised",
    "verification",
)


@dataclass(frozen=True, slots=True)
class EnterpriseRow:
    pk: int
    name: str
    uscc: str
    url: str
    town_name: str
    cluster_name: str
    size_label: str
    employees: int | None
    revenue: Decimal | None  # yuan
    employees_text: str
    revenue_wan_text: str  # ¥10,000, as officials write it
    above_scale: bool
    specialised: bool
    pending: bool
    html: SafeString  # the row's <tr>, as enterprises/_list_table.html shows it


def list_values(qs: QuerySet[Enterprise]) -> QuerySet[Any]:
    return qs.values(*ROW_FIELDS)


def list_rows(values: Any) -> list[EnterpriseRow]:
    values = list(values)
    towns = reference_names("town", {v["town_id"] for v in values})
    clusters = reference_names("cluster", {v["cluster_id"] for v in values})
    sizes = {key: str(label) for key, label in SizeClass.choices}
    marker = 999_999_999
    detail = reverse("enterprises:detail", args=[marker]).replace(str(marker), "{}")
    badges = {
        "above_scale": f'<span class="badge bg-blue-lt">{escape(_("规上"))}</span>',
        "specialised": f' <span class="badge bg-green-lt">{escape(_("专精特新"))}</span>',
        "pending": f' <span class="badge bg-yellow-lt">{escape(_("待核验"))}</span>',
    }
    rows = []
    for v in values:
        employees, revenue = v["employees"], v["revenue"]
        fields: dict[str, Any] = {
            "pk": v["id"],
            "name": v["name"],
            "uscc": v["uscc"],
            "url": detail.format(v["id"]),
            "town_name": towns.get(v["town_id"], "—"),
            "cluster_name": clusters.get(v["cluster_id"], "—"),
            "size_label": sizes.get(v["size_class"], v["size_class"]),
            "employees": employees,
            "revenue": revenue,
            "employees_text": "—" if employees is None else f"{employees:,}",
            # yuan / 10,000, rounded to a whole number, as officials write revenue.
            "revenue_wan_text": "—" if revenue is None else f"{round(revenue / 10000):,}",
            "above_scale": v["above_scale"],
            "specialised": v["specialised"],
            "pending": v["verification"] == Verification.PENDING,
        }
        rows.append(EnterpriseRow(**fields, html=_row_html(fields, badges)))
    return rows


def _row_html(f: dict[str, Any], badges: dict[str, str]) -> SafeString:
    flags = "".join(badges[k] for k in ("above_scale", "specialised", "pending") if f[k])
    return mark_safe(  # every value below is escaped
        f'<tr><td><a href="{escape(f["url"])}">{escape(f["name"])}</a></td>'
        f'<td class="d-none d-md-table-cell text-secondary font-monospace small">'
        f"{escape(f['uscc'])}</td>"
        f"<td>{escape(f['town_name'])}</td>"
        f'<td class="d-none d-lg-table-cell">{escape(f["cluster_name"])}</td>'
        f"<td>{escape(f['size_label'])}</td>"
        f'<td class="text-end d-none d-md-table-cell">{f["employees_text"]}</td>'
        f'<td class="text-end d-none d-md-table-cell">{f["revenue_wan_text"]}</td>'
        f'<td class="d-none d-lg-table-cell">{flags}</td></tr>'
    )
