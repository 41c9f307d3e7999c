import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from yunshu.accounts.models import Role
from yunshu.assessments.definitions import QUESTIONNAIRE_DIR
from yunshu.assessments.models import Assessment, AssessmentResult
from yunshu.core.audit import audit_verify
from yunshu.factories import EnterpriseFactory, user_for

pytestmark = pytest.mark.django_db
EXAMPLE = json.loads((QUESTIONNAIRE_DIR.parent / "examples/maturity-2024-example.json").read_text())


def filled_template(client, enterprises, *, tweak=None):
    """Download the template and fill one row per enterprise with the example answers."""
    response = client.get("/assessments/official/template.xlsx")
    headers = [
        c.value for c in load_workbook(io.BytesIO(b"".join(response.streaming_content))).active[1]
    ]
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for e in enterprises:
        row = []
        for header in headers:
            if header == "统一社会信用代码":
                row.append(e.uscc)
                continue
            key = header[header.rindex("[") + 1 : -1]
            if "." in key:
                item, inp = key.split(".")
                row.append(EXAMPLE["answers"][item][inp])
            elif key in EXAMPLE["answers"]:
                value = EXAMPLE["answers"][key]
                row.append("、".join(value) if isinstance(value, list) else value)
            else:
                scene = EXAMPLE["scenes"][key]
                row.append("不适用" if scene == "na" else scene)
        ws.append(row)
    if tweak:
        tweak(ws, headers)
    out = io.BytesIO()
    wb.save(out)
    return SimpleUploadedFile("results.xlsx", out.getvalue())


def test_assessor_uploads_results_attaches_evidence_and_signs(client):
    assessor = user_for(Role.ASSESSOR)
    enterprises = [
        EnterpriseFactory(on_transformation_list=True),
        EnterpriseFactory(on_transformation_list=True),
    ]
    client.force_login(assessor)
    upload = filled_template(client, enterprises)
    response = client.post("/assessments/official/", {"file": upload})
    assert response.status_code == 302
    created = Assessment.objects.filter(source="official").order_by("id")
    assert [a.enterprise for a in created] == enterprises
    assert {a.status for a in created} == {"submitted"} and len({a.batch for a in created}) == 1
    assert set(
        AssessmentResult.objects.filter(assessment__in=created).values_list("level", flat=True)
    ) == {2}

    first, second = created
    ids = {"ids": [first.pk, second.pk]}
    response = client.post("/assessments/official/sign/", ids, follow=True)
    assert "签发前请先上传佐证材料" in response.content.decode()
    evidence = SimpleUploadedFile("现场核查记录.pdf", b"%PDF-1.4 check", "application/pdf")
    client.post(f"/assessments/{first.pk}/evidence/", {"file": evidence})
    client.post("/assessments/official/sign/", ids)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "signed" and second.status == "submitted"
    assert audit_verify()[1] is None


def test_a_bad_row_is_named_and_nothing_is_created(client):
    assessor = user_for(Role.ASSESSOR)
    good, bad = (
        EnterpriseFactory(on_transformation_list=True),
        EnterpriseFactory(on_transformation_list=True),
    )
    client.force_login(assessor)

    def break_rows(ws, headers):
        ws.cell(
            row=3,
            column=headers.index("数字化设备联网率 [equipment_networked_rate]") + 1,
            value=130,
        )
        ws.append(["91441900MA00000000"] + [None] * (len(headers) - 1))

    upload = filled_template(client, [good, bad], tweak=break_rows)
    response = client.post("/assessments/official/", {"file": upload})
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="upload-errors"' in html
    errors = response.context["report"].errors
    assert {
        "row": 3,
        "column": "数字化设备联网率 [equipment_networked_rate]",
        "message": "百分比不能超过 100%",
    } in errors
    assert any(e["row"] == 4 and e["column"] == "统一社会信用代码" for e in errors)
    assert not Assessment.objects.filter(source="official").exists()


def test_evidence_of_a_wrong_type_is_refused(client):
    assessor = user_for(Role.ASSESSOR)
    client.force_login(assessor)
    client.post(
        "/assessments/official/",
        {"file": filled_template(client, [EnterpriseFactory(on_transformation_list=True)])},
    )
    a = Assessment.objects.get(source="official")
    response = client.post(
        f"/assessments/{a.pk}/evidence/", {"file": SimpleUploadedFile("x.exe", b"MZ")}, follow=True
    )
    assert "佐证材料只支持" in response.content.decode()
    assert not a.evidence.exists()


@pytest.mark.parametrize("role", [Role.CITY, Role.ENTERPRISE, Role.PROVIDER])
def test_only_assessment_bodies_upload_official_results(client, role):
    client.force_login(user_for(role))
    assert client.get("/assessments/official/").status_code == 404
    assert client.get("/assessments/official/template.xlsx").status_code == 404


def test_the_same_results_uploaded_twice_are_refused_the_second_time(client):
    assessor = user_for(Role.ASSESSOR)
    e = EnterpriseFactory(on_transformation_list=True)
    client.force_login(assessor)
    client.post("/assessments/official/", {"file": filled_template(client, [e])})
    response = client.post("/assessments/official/", {"file": filled_template(client, [e])})
    assert "未签发的结果" in response.content.decode()
    assert Assessment.objects.filter(source="official").count() == 1


def test_an_enterprise_off_the_transformation_list_is_not_reachable(client):
    client.force_login(user_for(Role.ASSESSOR))
    response = client.post(
        "/assessments/official/", {"file": filled_template(client, [EnterpriseFactory()])}
    )
    assert "改造名单中没有" in response.content.decode()


def test_a_deactivated_assessment_body_cannot_upload(client):
    assessor = user_for(Role.ASSESSOR)
    assessor.organisation.is_active = False
    assessor.organisation.save()
    client.force_login(assessor)
    assert client.get("/assessments/official/").status_code == 404
