import datetime as dt
import json
import shutil

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.http import Http404
from django.utils import timezone

from yunshu.accounts.models import Role
from yunshu.assessments import services
from yunshu.assessments.definitions import QUESTIONNAIRE_DIR, RULE_DIR, questionnaires_load
from yunshu.assessments.engine import QuestionnaireError
from yunshu.assessments.models import AssessmentResult, Questionnaire
from yunshu.assessments.selectors import assessments_visible_to
from yunshu.core.audit import audit_verify
from yunshu.enterprises.models import AccessLogEntry
from yunshu.factories import EnterpriseFactory, grant, town, user_for

pytestmark = pytest.mark.django_db
EXAMPLE = json.loads((QUESTIONNAIRE_DIR.parent / "examples/maturity-2024-example.json").read_text())
SECURITY_EXAMPLE = json.loads(
    (QUESTIONNAIRE_DIR.parent / "examples/security-2024-example.json").read_text()
)


def maturity():
    return Questionnaire.objects.get(key="maturity-2024")


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


def test_shipped_versions_are_stored_by_migrate_and_loading_again_changes_nothing():
    assert set(Questionnaire.objects.values_list("key", flat=True)) >= {
        "maturity-2024",
        "security-2024",
    }
    assert maturity().rules.get(is_active=True).provisional
    assert questionnaires_load() == []


def add_evidence(assessment, by):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from yunshu.assessments.official import evidence_add

    return evidence_add(
        assessment=assessment,
        by=by,
        upload=SimpleUploadedFile("现场照片.pdf", b"%PDF-1.4 evidence", "application/pdf"),
    )


def test_self_assessment_submitted_is_scored_locked_and_keeps_its_version():
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    a = filled(owner, e)
    result = services.assessment_submit(assessment=a, by=owner)
    a.refresh_from_db()
    assert a.status == "submitted" and a.questionnaire.key == "maturity-2024"
    assert result.level == 2 and result.version == 1 and result.rule.key == "maturity-2024-default"
    with pytest.raises(Http404):
        services.assessment_save(assessment=a, by=owner, answers={"planning": "none"})
    assert audit_verify()[1] is None


def test_submitting_with_unanswered_questions_names_how_many_and_keeps_the_draft():
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    a = services.assessment_start(enterprise=e, questionnaire=maturity(), source="self", by=owner)
    services.assessment_save(assessment=a, by=owner, answers={"planning": "written_plan"})
    with pytest.raises(ValidationError) as exc:
        services.assessment_submit(assessment=a, by=owner)
    assert "未作答" in exc.value.messages[0]
    a.refresh_from_db()
    assert a.status == "draft" and not AssessmentResult.objects.filter(assessment=a).exists()


def test_a_bad_answer_is_refused_with_the_question_named_and_nothing_saved():
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    a = services.assessment_start(enterprise=e, questionnaire=maturity(), source="self", by=owner)
    with pytest.raises(ValidationError) as exc:
        services.assessment_save(
            assessment=a, by=owner, answers={"planning": "written_plan", "pass_rate": "abc"}
        )
    assert "pass_rate" in exc.value.message_dict
    a.refresh_from_db()
    assert a.answers == {}


@pytest.mark.parametrize("role", [Role.ENTERPRISE, Role.PROVIDER, Role.CITY, Role.TOWN])
def test_only_assessors_create_official_assessments(role):
    e = EnterpriseFactory(on_transformation_list=True)
    user = user_for(role, enterprise=e) if role == Role.ENTERPRISE else user_for(role)
    if role == Role.PROVIDER:
        grant(e, user, scope_assessments=True)
    with pytest.raises(Http404):
        services.assessment_start(
            enterprise=e, questionnaire=maturity(), source="official", by=user
        )
    assessor = user_for(Role.ASSESSOR)
    a = services.assessment_start(
        enterprise=e, questionnaire=maturity(), source="official", by=assessor
    )
    assert a.source == "official"


def test_diagnosis_needs_a_grant_of_the_assessments_scope_or_a_city_assignment():
    from yunshu.factories import provider as pool_provider
    from yunshu.factories import provider_user

    e = EnterpriseFactory(on_transformation_list=True)
    provider = provider_user(pool_provider(lead=True))
    with pytest.raises(Http404):
        services.assessment_start(
            enterprise=e, questionnaire=maturity(), source="diagnosis", by=provider
        )
    grant(e, provider, scope_profile=True, scope_assessments=False)
    with pytest.raises(Http404):
        services.assessment_start(
            enterprise=e, questionnaire=maturity(), source="diagnosis", by=provider
        )
    from yunshu.enterprises.services import diagnosis_assign

    diagnosis_assign(
        enterprise=e,
        provider=provider.organisation,
        by=user_for(Role.CITY),
        expires_at=timezone.now() + dt.timedelta(days=30),
    )
    a = services.assessment_start(
        enterprise=e, questionnaire=maturity(), source="diagnosis", by=provider
    )
    assert a.organisation == provider.organisation


def test_signed_official_result_is_immutable_and_a_correction_references_it():
    e = EnterpriseFactory(on_transformation_list=True)
    assessor = user_for(Role.ASSESSOR)
    a = filled(assessor, e, source="official")
    services.assessment_submit(assessment=a, by=assessor)
    with pytest.raises(ValidationError, match="佐证材料"):  # no evidence yet
        services.assessment_sign(assessment=a, by=assessor)
    add_evidence(a, assessor)
    services.assessment_sign(assessment=a, by=assessor)
    a.refresh_from_db()
    assert a.status == "signed"
    with pytest.raises(Http404):
        services.assessment_save(assessment=a, by=assessor, answers={"planning": "none"})
    with pytest.raises(ValidationError, match="已经签发"):
        services.assessment_sign(assessment=a, by=assessor)
    correction = services.assessment_correct(original=a, by=assessor)
    assert correction.corrects == a and correction.status == "draft"
    assert correction.answers == a.answers


def test_security_assessment_gives_a_risk_grade_and_an_ordered_remediation_list():
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    a = filled(owner, e, example=SECURITY_EXAMPLE, key="security-2024")
    result = services.assessment_submit(assessment=a, by=owner)
    assert result.risk_grade == "high" and result.level is None
    remediation = result.computed["remediation"]
    priorities = [r["priority"] for r in remediation]
    assert priorities == sorted(priorities, reverse=True)
    assert remediation[0]["severity"] == "high"


def test_visibility_town_sees_its_town_provider_needs_a_grant_others_nothing():
    e = EnterpriseFactory(town=town("虎门"))
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    a = filled(owner, e)
    services.assessment_submit(assessment=a, by=owner)
    provider = user_for(Role.PROVIDER)
    assert a in assessments_visible_to(user_for(Role.TOWN, town_name="虎门"))
    assert a not in assessments_visible_to(user_for(Role.TOWN, town_name="长安"))
    assert a not in assessments_visible_to(provider)
    assert a not in assessments_visible_to(user_for(Role.ENTERPRISE))
    assert a not in assessments_visible_to(user_for(Role.EXPERT))
    grant(e, provider, scope_profile=False, scope_assessments=True)
    assert a in assessments_visible_to(provider)


def test_an_outsider_viewing_a_result_is_logged_for_the_enterprise(client):
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    a = filled(owner, e)
    services.assessment_submit(assessment=a, by=owner)
    city = user_for(Role.CITY)
    client.force_login(city)
    assert client.get(f"/assessments/{a.pk}/").status_code == 200
    assert AccessLogEntry.objects.filter(enterprise=e, viewer=city, what="assessments").exists()
    client.force_login(owner)
    client.get(f"/assessments/{a.pk}/")
    assert not AccessLogEntry.objects.filter(enterprise=e, viewer=owner).exists()


def test_a_providers_view_of_the_assessment_list_is_logged_for_each_enterprise_shown(client):
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    services.assessment_submit(assessment=filled(owner, e), by=owner)
    reader = user_for(Role.PROVIDER)
    grant(e, reader, scope_assessments=True)
    client.force_login(reader)
    assert client.get("/assessments/").status_code == 200
    assert (
        AccessLogEntry.objects.filter(enterprise=e, viewer=reader, what="assessments").count() == 1
    )


def test_someone_elses_draft_is_a_404(client):
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    a = services.assessment_start(enterprise=e, questionnaire=maturity(), source="self", by=owner)
    client.force_login(user_for(Role.CITY))
    assert client.get(f"/assessments/{a.pk}/").status_code == 404


def test_comparison_shows_what_changed_between_two_assessments(client):
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    first = filled(owner, e)
    services.assessment_submit(assessment=first, by=owner)
    better = dict(EXAMPLE, answers=EXAMPLE["answers"] | {"planning": "strategic_iterating"})
    second = filled(owner, e, example=better)
    services.assessment_submit(assessment=second, by=owner)
    client.force_login(owner)
    html = client.get(f"/assessments/{second.pk}/compare/{first.pk}/").content.decode()
    assert 'data-testid="compare-table"' in html and "+4.5" in html


def test_a_new_questionnaire_version_in_a_folder_loads_and_scores_without_code(tmp_path, capsys):
    folder, rules = tmp_path / "questionnaires", tmp_path / "rules"
    folder.mkdir()
    rules.mkdir()
    data = json.loads((QUESTIONNAIRE_DIR / "maturity-2024.json").read_text())
    data["key"] = "maturity-2026"
    # The new version weights 5G differently: 3 points instead of 2, 7 in all for the item.
    build = next(
        i
        for d in data["dimensions"]
        if d["key"] == "foundation"
        for s in d["sections"]
        for i in s["items"]
        if i["key"] == "network_build"
    )
    build["options"] = [
        dict(o, points=3 if o["key"] == "industrial_5g" else 2) for o in build["options"]
    ]
    build["max_points"] = 9
    equipment = next(d for d in data["dimensions"] if d["key"] == "foundation")
    equipment["max_points"] = 51
    (folder / "maturity-2026.json").write_text(json.dumps(data, ensure_ascii=False))
    rule = json.loads((RULE_DIR / "maturity-2024-default.json").read_text())
    rule.update(key="maturity-2026-default", questionnaire="maturity-2026")
    (rules / "maturity-2026-default.json").write_text(json.dumps(rule))
    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps(
            {
                "questionnaire": "maturity-2026",
                "answers": {"network_build": ["industrial_5g"]},
                "scenes": {},
            }
        )
    )
    call_command(
        "assessment_score",
        str(answers),
        "--questionnaire",
        "maturity-2026",
        "--dir",
        str(folder),
        "--rule",
        str(rules / "maturity-2026-default.json"),
    )
    out = json.loads(capsys.readouterr().out)
    assert out["items"]["network_build"] == 3 and out["questionnaire"] == "maturity-2026"
    assert questionnaires_load(directory=folder, rules_directory=rules) == [
        "maturity-2026",
        "maturity-2026-default",
    ]
    assert Questionnaire.objects.get(key="maturity-2026").rules.get().is_active


def test_a_changed_file_for_a_stored_version_is_refused(tmp_path):
    folder = tmp_path / "q"
    folder.mkdir()
    shutil.copy(QUESTIONNAIRE_DIR / "maturity-2024.json", folder / "maturity-2024.json")
    text = (folder / "maturity-2024.json").read_text().replace("数字化基础", "数字化底座", 1)
    (folder / "maturity-2024.json").write_text(text)
    with pytest.raises(QuestionnaireError, match="new key"):
        questionnaires_load(directory=folder, rules_directory=tmp_path / "none")


def test_cli_prints_the_example_result_as_json(capsys):
    path = QUESTIONNAIRE_DIR.parent / "examples/maturity-2024-example.json"
    call_command("assessment_score", str(path), "--questionnaire", "maturity-2024")
    out = json.loads(capsys.readouterr().out)
    assert out["level_label"] == "二级" and out["rule_provisional"] is True
    assert set(out["dimensions"]) == {"foundation", "management", "results"}


def test_a_second_start_resumes_the_open_draft_instead_of_making_another():
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    first = services.assessment_start(
        enterprise=e, questionnaire=maturity(), source="self", by=owner
    )
    again = services.assessment_start(
        enterprise=e, questionnaire=maturity(), source="self", by=owner
    )
    assert first == again


def test_a_provider_loses_its_own_diagnosis_when_the_grant_is_revoked():
    from yunshu.enterprises.services import grant_revoke

    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    provider = user_for(Role.PROVIDER)
    g = grant(e, provider, scope_assessments=True)
    a = filled(provider, e, source="diagnosis")
    services.assessment_submit(assessment=a, by=provider)
    assert a in assessments_visible_to(provider)
    grant_revoke(grant=g, by=owner)
    assert a not in assessments_visible_to(provider)
    assert a in assessments_visible_to(owner)


def test_a_second_submit_says_so_instead_of_a_404():
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    a = filled(owner, e)
    services.assessment_submit(assessment=a, by=owner)
    with pytest.raises(ValidationError, match="已经提交"):
        services.assessment_submit(assessment=a, by=owner)


def test_an_unknown_step_is_a_404_and_erases_nothing(client):
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    a = filled(owner, e)
    client.force_login(owner)
    assert client.post(f"/assessments/{a.pk}/step/typo/", {}).status_code == 404
    a.refresh_from_db()
    assert a.answers == EXAMPLE["answers"]


def test_a_huge_number_is_an_error_message_not_a_crash(client):
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    a = services.assessment_start(enterprise=e, questionnaire=maturity(), source="self", by=owner)
    client.force_login(owner)
    response = client.post(
        f"/assessments/{a.pk}/step/foundation-equipment/",
        {"item-equipment_digitised_rate": "1e5000"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "请填写数字" in response.content.decode()


def test_drafts_are_seen_only_by_their_author():
    e = EnterpriseFactory()
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    a = services.assessment_start(enterprise=e, questionnaire=maturity(), source="self", by=owner)
    assert a in assessments_visible_to(owner)
    assert a not in assessments_visible_to(user_for(Role.CITY))
