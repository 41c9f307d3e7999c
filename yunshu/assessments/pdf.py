"""The PDF report (诊断报告) of a submitted assessment, rendered on the server by WeasyPrint.

The PDF engine runs no JavaScript, so the charts are SVG built in Python (svg_charts) and put
inline into the HTML. A report is always in Chinese; the CJK text uses the system's Noto Sans
CJK (Debian: fonts-noto-cjk), of which WeasyPrint embeds the subset it uses.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from . import engine
from .models import Assessment
from .report import result_context
from .svg_charts import radar_svg, scene_levels_svg

TEMPLATE = "assessments/report_pdf.html"


def report_pdf_context(assessment: Assessment) -> dict[str, Any]:
    """What the report template shows: the result page's context plus the charts as SVG."""
    if assessment.status == Assessment.Status.DRAFT:
        raise ValueError("a draft has no report: submit the assessment first")
    context = result_context(assessment)
    if context["result"] is None:
        raise ValueError("the assessment has no stored result")
    context["generated_at"] = timezone.now()
    if context["q"].kind == "maturity":
        dims = context["dimension_rows"]
        context["scene_rows"] = [
            {**s, "level_label": "" if s["level"] is None else engine.level_label(s["level"])}
            for s in context["scene_rows"]
        ]
        scenes = context["scene_rows"]
        radar = radar_svg([d["name"] for d in dims], [float(d["percent"]) for d in dims])
        context["scene_svg"] = mark_safe(  # svg_charts escapes all text
            scene_levels_svg(
                [s["name"] for s in scenes],
                [s["level"] for s in scenes],
                mandatory=[bool(s["mandatory"]) for s in scenes],
            )
        )
    else:
        areas = context["area_rows"]
        radar = radar_svg([r["name"] for r in areas], [float(r["percent"]) for r in areas])
    context["radar_svg"] = mark_safe(radar)  # svg_charts escapes all text
    return context


def render_assessment_pdf(assessment: Assessment) -> bytes:
    """The 诊断报告 of a submitted or signed assessment as PDF bytes (A4, Chinese).

    Raises ValueError for a draft: only submitted and signed assessments have a result.
    """
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    with translation.override("zh-hans"):
        html = render_to_string(TEMPLATE, report_pdf_context(assessment))
    # Everything is inline; refuse any fetch (file:, http:) a stray URL might ask for.
    fetcher = URLFetcher(allowed_protocols=["data"])
    pdf = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    if pdf is None:  # write_pdf returns bytes when given no target
        raise RuntimeError("WeasyPrint returned no PDF")
    return bytes(pdf)
