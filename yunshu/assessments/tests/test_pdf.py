"""The PDF report (诊断报告): its text comes back out, its CJK font is embedded, page 1 renders.

Each report and a PNG of its page 1 are saved under var/screenshots/ (or $SCREENSHOT_DIR) for
a human to look at.
"""

import io
import json
import os
import shutil
import subprocess
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from yunshu.accounts.models import Role
from yunshu.assessments import services
from yunshu.assessments.definitions import QUESTIONNAIRE_DIR
from yunshu.assessments.models import Questionnaire
from yunshu.assessments.report import result_context
from yunshu.assessments.svg_charts import radar_svg, scene_levels_svg
from yunshu.factories import EnterpriseFactory, user_for

EXAMPLES = QUESTIONNAIRE_DIR.parent / "examples"
EXAMPLE = json.loads((EXAMPLES / "maturity-2024-example.json").read_text())
SECURITY_EXAMPLE = json.loads((EXAMPLES / "security-2024-example.json").read_text())
SVG = "{http://www.w3.org/2000/svg}"


def filled(by, enterprise, source="self", example=EXAMPLE, key="maturity-2024"):
    a = services.assessment_start(
        enterprise=enterprise,
        questionnaire=Questionnaire.objects.get(key=key),
        source=source,
        by=by,
    )
    return services.assessment_save(
        assessment=a, by=by, answers=example["answers"], scenes=example.get("scenes", {})
    )


def submitted(example, key):
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    a = filled(owner, e, example=example, key=key)
    result = services.assessment_submit(assessment=a, by=owner)
    a.refresh_from_db()
    return a, result


def screenshot_dir() -> Path:
    default = Path(__file__).resolve().parents[3] / "var" / "screenshots"
    path = Path(os.environ.get("SCREENSHOT_DIR") or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def page_texts(pdf: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page_texts(pdf))


def embedded_fonts(pdf: bytes) -> dict[str, bool]:
    """Every font the pages use: base font name → whether its font program is embedded."""
    from pypdf import PdfReader

    fonts: dict[str, bool] = {}

    def walk(resources, seen):
        if resources is None or id(resources) in seen:
            return
        seen.add(id(resources))
        resources = resources.get_object()
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            descriptor_holder = font
            if "/DescendantFonts" in font:
                descriptor_holder = font["/DescendantFonts"][0].get_object()
            descriptor = descriptor_holder.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            fonts[str(font.get("/BaseFont"))] = any(
                k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
            )
        for xobject in (resources.get("/XObject") or {}).values():
            walk(xobject.get_object().get("/Resources"), seen)

    for page in PdfReader(io.BytesIO(pdf)).pages:
        walk(page.get("/Resources"), set())
    return fonts


def page_one_png(pdf: bytes, name: str, tmp_path: Path) -> Path:
    """Page 1 at 60 dpi through poppler's pdftoppm; skipped loudly without it, failed in CI."""
    if shutil.which("pdftoppm") is None:
        message = (
            "!!! pdftoppm is missing: page 1 of the PDF report was NOT rendered to PNG. "
            "Install it with `apt-get install -y poppler-utils` !!!"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        warnings.warn(message, pytest.PytestWarning, stacklevel=2)
        pytest.skip(message)
    source = tmp_path / f"{name}.pdf"
    source.write_bytes(pdf)
    prefix = tmp_path / name
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", source, prefix],
        check=True,
        capture_output=True,
        timeout=60,
    )
    png = prefix.with_suffix(".png")
    target = screenshot_dir() / f"{name}-p1.png"
    shutil.copyfile(png, target)
    (screenshot_dir() / f"{name}.pdf").write_bytes(pdf)
    return target


def assert_page_is_a_picture(png: Path):
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    # A blank A4 page at 60 dpi compresses to a few KB; text, tables and charts do not.
    assert len(data) > 20_000, f"{png} is only {len(data)} bytes: is page 1 blank?"


def assert_cjk_font_embedded(pdf: bytes):
    fonts = embedded_fonts(pdf)
    cjk = {
        name: emb for name, emb in fonts.items() if "NOTOSANSCJK" in name.upper().replace("-", "")
    }
    assert cjk, f"no Noto Sans CJK font in the PDF, only {sorted(fonts)}"
    assert all(cjk.values()), f"a CJK font is not embedded: {cjk}"


@pytest.mark.django_db
def test_maturity_report_has_the_enterprise_level_dimensions_scenes_and_renders(tmp_path):
    from yunshu.assessments.pdf import render_assessment_pdf

    a, result = submitted(EXAMPLE, "maturity-2024")
    assert result.level == 2
    pdf = render_assessment_pdf(a)
    assert pdf.startswith(b"%PDF")

    text = pdf_text(pdf)
    for expected in (
        a.enterprise.name,
        "诊断报告",
        "云数",
        "maturity-2024",
        "企业自评",
        "二级",
        "数字化基础",
        "质量管理",
        "待核对",  # the 2024 level rule is provisional
        "整改清单",
    ):
        assert expected in text, f"{expected!r} is not in the PDF's text"
    first_gap = next(  # the remediation list of a maturity report is its gaps
        row["next"] for row in result_context(a)["gaps"] if row["next"]
    )
    assert first_gap[:8] in text.replace("\n", "")
    pages = page_texts(pdf)
    for number, page in enumerate(pages, start=1):  # page numbers in the footer
        assert page.rstrip().endswith(f" {number} / {len(pages)}"), page[-80:]

    assert_cjk_font_embedded(pdf)
    assert_page_is_a_picture(page_one_png(pdf, "report-maturity", tmp_path))


@pytest.mark.django_db
def test_security_report_has_the_risk_grade_and_the_remediation_list_in_order(tmp_path):
    from yunshu.assessments.pdf import render_assessment_pdf

    a, result = submitted(SECURITY_EXAMPLE, "security-2024")
    remediation = result.computed["remediation"]
    assert remediation
    pdf = render_assessment_pdf(a)
    assert pdf.startswith(b"%PDF")

    text = pdf_text(pdf)
    flat = text.replace("\n", "")
    for expected in (a.enterprise.name, "诊断报告", "security-2024", "安全风险", "管理与责任"):
        assert expected in text, f"{expected!r} is not in the PDF's text"
    assert result.computed["risk_grade_label"] in text
    first, second = remediation[0], remediation[1]
    assert first["name_zh"][:10] in flat
    assert first["remediation_zh"][:10] in flat
    # Ordered as the engine ordered them (severity × weight).
    assert flat.index(first["remediation_zh"][:10]) < flat.index(second["remediation_zh"][:10])

    assert_cjk_font_embedded(pdf)
    assert_page_is_a_picture(page_one_png(pdf, "report-security", tmp_path))


@pytest.mark.django_db
def test_a_draft_has_no_report():
    from yunshu.assessments.pdf import render_assessment_pdf

    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    draft = filled(owner, e)
    with pytest.raises(ValueError):
        render_assessment_pdf(draft)


@pytest.mark.django_db
def test_the_report_is_chinese_whatever_language_is_active():
    from django.utils import translation

    from yunshu.assessments.pdf import render_assessment_pdf

    a, _ = submitted(EXAMPLE, "maturity-2024")
    with translation.override("en"):
        text = pdf_text(render_assessment_pdf(a))
        assert translation.get_language() == "en"
    assert "数字化基础" in text and "诊断报告" in text
    assert "Digital foundation" not in text


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # valid XML, or this raises
    assert root.tag == f"{SVG}svg"
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_radar_svg_is_valid_xml_with_its_labels_and_escapes_text():
    svg = radar_svg(["数字化基础", "数字化管理", "A&<B>"], [40, 100, 250])
    texts = svg_texts(svg)
    assert "数字化基础" in texts and "数字化管理" in texts and "A&<B>" in texts
    assert "Noto Sans CJK SC" in svg
    assert "250%" in texts  # the value is shown as given; the polygon is clamped
    root = ET.fromstring(svg)
    value_polygon = root.findall(f"{SVG}polygon")[-1]
    assert len(value_polygon.get("points").split()) == 3


def test_radar_svg_wraps_long_labels_and_draws_empty_data():
    texts = svg_texts(radar_svg(["主机、终端与工控设备安全"], [50]))
    label = [t for t in texts if not t[0].isdigit()]
    assert label == ["主机、终端与", "工控设备安全"]  # six characters a line
    assert "50%" in texts
    assert svg_texts(radar_svg([], [])) == ["无数据"]
    with pytest.raises(ValueError):
        radar_svg(["a"], [])


def test_scene_levels_svg_has_a_row_per_scene_dash_for_not_applicable_and_a_legend():
    svg = scene_levels_svg(
        ["质量管理", "设备管理", "决策支持", "<x>"],
        [2, 0, None, 4],
        mandatory=[True, True, False, False],
    )
    texts = svg_texts(svg)
    assert "★ 质量管理" in texts and "决策支持" in texts and "<x>" in texts
    assert "—" in texts  # None: not applicable
    assert "二级" in texts and "未达一级" in texts and "四级" in texts
    assert "— 不适用" in texts and "★ 约束性场景" in texts  # the legend
    root = ET.fromstring(svg)
    rects = root.findall(f"{SVG}rect")
    assert len(rects) == 4 * 4 + 6  # four cells a row, six legend swatches
    with pytest.raises(ValueError):
        scene_levels_svg(["a", "b"], [1])
