import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from yunshu.accounts.models import Role
from yunshu.assessments import rules, services
from yunshu.assessments.definitions import RULE_DIR
from yunshu.assessments.models import AssessmentResult, LevelRule, Questionnaire, RescoreJob
from yunshu.assessments.tests.test_services import add_evidence, filled
from yunshu.core.audit import audit_verify
from yunshu.factories import EnterpriseFactory, user_for

pytestmark = pytest.mark.django_db


def stricter_rule(key="maturity-2024-strict"):
    data = json.loads((RULE_DIR / "maturity-2024-default.json").read_text())
    data["key"] = key
    for row in data["levels"]:
        if row["level"] == 2:
            row["min_base"] = 45  # the example's base is 43.525: it drops to level 1
    return json.dumps(data)


def submitted(source="self"):
    e = EnterpriseFactory(on_transformation_list=source == "official")
    if source == "official":
        by = user_for(Role.ASSESSOR)
    else:
        by = user_for(Role.ENTERPRISE, enterprise=e)
    a = filled(by, e, source=source)
    services.assessment_submit(assessment=a, by=by)
    if source == "official":
        add_evidence(a, by)
        services.assessment_sign(assessment=a, by=by)
    return a


def test_preview_counts_the_enterprises_whose_level_would_change_and_changes_nothing():
    submitted()
    submitted()
    city = user_for(Role.CITY)
    q = Questionnaire.objects.get(key="maturity-2024")
    preview = rules.rule_preview(questionnaire=q, text=stricter_rule(), by=city)
    assert preview["enterprises_changed"] == 2
    assert preview["moves"] == [{"from": 2, "to": 1, "n": 2}]
    assert not LevelRule.objects.filter(key="maturity-2024-strict").exists()


def test_activating_a_rule_rescores_self_results_as_new_versions_but_never_signed_official_ones(
    django_capture_on_commit_callbacks,
):
    own = submitted()
    official = submitted("official")
    city = user_for(Role.CITY)
    q = Questionnaire.objects.get(key="maturity-2024")
    with django_capture_on_commit_callbacks(execute=True):
        job = rules.rule_activate(questionnaire=q, text=stricter_rule(), by=city)
    job.refresh_from_db()
    assert job.status == RescoreJob.Status.SUCCEEDED and job.done == 1 and job.changed == 1
    versions = list(AssessmentResult.objects.filter(assessment=own).order_by("version"))
    assert [(r.version, r.level, r.is_current) for r in versions] == [(1, 2, False), (2, 1, True)]
    assert versions[1].rule.key == "maturity-2024-strict"
    signed = AssessmentResult.objects.get(assessment=official)
    assert signed.level == 2 and signed.rule.key == "maturity-2024-default"
    assert LevelRule.objects.get(questionnaire=q, is_active=True).key == "maturity-2024-strict"
    assert audit_verify()[1] is None


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "JSON"),
        ('{"key": "x", "questionnaire": "maturity-2024", "levels": []}', "levels"),
        (
            json.dumps({"key": "maturity-2024-default", "questionnaire": "maturity-2024"}),
            "level",
        ),
    ],
)
def test_a_bad_rule_file_is_refused_with_the_reason(text, message):
    city = user_for(Role.CITY)
    q = Questionnaire.objects.get(key="maturity-2024")
    with pytest.raises(Exception) as exc:
        rules.rule_preview(questionnaire=q, text=text, by=city)
    assert message in str(exc.value)


def test_a_level_asking_less_than_the_one_below_is_refused():
    data = json.loads(stricter_rule("maturity-2024-odd"))
    data["levels"][0]["min_base"] = 10  # level 4 below level 3's 60
    city = user_for(Role.CITY)
    with pytest.raises(Exception, match="asks less"):
        rules.rule_preview(
            questionnaire=Questionnaire.objects.get(key="maturity-2024"),
            text=json.dumps(data),
            by=city,
        )


def test_city_officer_uploads_previews_and_confirms_on_the_page(
    client, django_capture_on_commit_callbacks
):
    submitted()
    client.force_login(user_for(Role.CITY))
    page = client.get("/assessments/rules/")
    assert 'data-testid="provisional"' in page.content.decode()
    upload = SimpleUploadedFile("strict.json", stricter_rule().encode(), "application/json")
    preview = client.post("/assessments/rules/", {"file": upload})
    assert 'data-testid="preview-result"' in preview.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/assessments/rules/", {"confirm": "1", "text": stricter_rule()})
    job = RescoreJob.objects.get()
    assert done["Location"] == f"/assessments/rules/jobs/{job.pk}/"
    assert 'data-status="succeeded"' in client.get(done["Location"]).content.decode()


@pytest.mark.parametrize("role", [Role.TOWN, Role.ENTERPRISE, Role.ASSESSOR])
def test_only_the_city_manages_rules(client, role):
    client.force_login(user_for(role))
    assert client.get("/assessments/rules/").status_code == 404


def test_a_rescore_whose_worker_died_shows_failed_and_resumes_where_it_stopped(
    client, settings, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    done = submitted()
    left = submitted()
    city = user_for(Role.CITY)
    q = Questionnaire.objects.get(key="maturity-2024")
    job = rules.rule_activate(questionnaire=q, text=stricter_rule(), by=city)  # not run yet
    rule = job.rule
    # The worker had re-scored one result (its batch committed), then died.
    from django.db import transaction

    from yunshu.assessments.rules import _write_versions

    current = AssessmentResult.objects.get(assessment=done, is_current=True)
    with transaction.atomic():
        _write_versions(rule.pk, [(current.pk, 1, '{"level": 1}')])
    RescoreJob.objects.filter(pk=job.pk).update(
        status="running", heartbeat_at=timezone.now() - dt.timedelta(minutes=10)
    )
    settings.JOB_STALE_AFTER_SECONDS = 60
    client.force_login(city)
    page = client.get(f"/assessments/rules/jobs/{job.pk}/").content.decode()
    assert 'data-status="failed"' in page and 'data-testid="resume"' in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/assessments/rules/jobs/{job.pk}/")
    job.refresh_from_db()
    assert job.status == "succeeded" and job.done == 1  # only the one left
    assert AssessmentResult.objects.get(assessment=left, is_current=True).rule == rule
