"""`yunshu recommend --enterprise USCC --top 10 [--json]`: one enterprise's ranked products."""

from __future__ import annotations

import json
import sys
import unicodedata
from typing import Any

from django.core.management.base import BaseCommand

from yunshu.core.uscc import normalise
from yunshu.enterprises.models import Enterprise
from yunshu.matching import recommend, scoring

SHORT = {
    "coverage": "cov",
    "fit": "fit",
    "price": "price",
    "trust": "trust",
    "outcomes": "outc",
    "local": "local",
    "ratings": "rate",
}


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def cut(text: str, limit: int) -> str:
    out = ""
    for ch in text:
        if width(out + ch) > limit:
            return out[: max(0, len(out) - 1)] + "…"
        out += ch
    return out


def pad(text: str, size: int) -> str:
    text = cut(text, size)
    return text + " " * (size - width(text))


class Command(BaseCommand):
    help = (
        "Ranked catalogue products for one enterprise, with each score part "
        "(docs/matching.md). Exit code 1 for an unknown credit code."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--enterprise", required=True, metavar="USCC", help="credit code")
        parser.add_argument("--top", type=int, default=scoring.DEFAULT_TOP, help="how many (1–50)")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        # What people paste: lower case, full-width characters, spaces and dashes.
        code = normalise(options["enterprise"])
        top = options["top"]
        if not 1 <= top <= recommend.TOP_MAX:
            self.stderr.write(f"--top must be between 1 and {recommend.TOP_MAX}")
            sys.exit(2)
        enterprise = (
            Enterprise.objects.select_related("town", "industry", "cluster")
            .filter(uscc=code)
            .first()
        )
        if enterprise is None:
            self.stderr.write(f"no enterprise with credit code {code!r}")
            sys.exit(1)
        result = recommend.recommendations_live(enterprise=enterprise, top=top)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
            return
        e = enterprise
        basis = (
            f"levels from assessment #{result.basis.assessment_id} ({result.basis.source}, "
            f"{result.basis.submitted_at:%Y-%m-%d})"
            if result.basis and result.basis.submitted_at
            else "not assessed: typical levels of its cluster (take the self-assessment)"
        )
        self.stdout.write(f"{e.name} {e.uscc} · {e.town.name_zh} · {e.size_class}")
        self.stdout.write(basis)
        self.stdout.write(
            f"{result.candidates} candidates, catalogue version {result.catalogue_version}, "
            f"at most {result.cap} per provider"
        )
        head = (
            f"{'#':>3} {'total':>5} "
            + " ".join(f"{SHORT[k]:>5}" for k in scoring.PART_KEYS)
            + f"  {pad('product', 28)} provider (trust grade)"
        )
        self.stdout.write(head)
        for item in result.items:
            parts = item.parts.as_dict()
            self.stdout.write(
                f"{item.rank:>3} {item.total:>5} "
                + " ".join(f"{parts[k]:>5}" for k in scoring.PART_KEYS)
                + f"  {pad(item.product_name, 28)} {cut(item.provider_name, 30)}"
                + f" ({item.trust_grade})"
            )
        if not result.items:
            self.stdout.write("(no products in the catalogue)")
