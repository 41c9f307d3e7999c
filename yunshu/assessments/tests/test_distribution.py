import io

import pytest
from openpyxl import load_workbook

from yunshu.accounts.models import Role
from yunshu.assessments import services
from yunshu.assessments.tests.test_services import EXAMPLE, filled
from yunshu.factories import EnterpriseFactory, town, user_for

pytestmark = pytest.mark.django_db


def _submitted(town_name, planning="written_plan"):
    e = EnterpriseFactory(town=town(town_name))
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    example = dict(EXAMPLE, answers=EXAMPLE["answers"] | {"planning": planning})
    a = filled(owner, e, example=example)
    services.assessment_submit(assessment=a, by=owner)
    return e, owner, a


def test_city_sees_levels_by_town_and_the_export_has_the_same_numbers(client):
    _submitted("虎门")
    _submitted("虎门")
    _submitted("长安")
    client.force_login(user_for(Role.CITY))
    response = client.get("/assessments/distribution/?by=town&kind=maturity")
    rows = {r["name_zh"]: r for r in response.context["rows"]}
    assert rows["虎门"]["counts"][2] == 2 and rows["长安"]["total"] == 1
    sheet = load_workbook(
        io.BytesIO(b"".join(client.get("/assessments/distribution.xlsx?by=town").streaming_content))
    ).active
    table = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert table["虎门"][-1] == 2 and table["虎门"][3] == 2  # columns: name, 未达一级, 一级, 二级 …


def test_each_enterprise_counts_once_with_its_latest_assessment(client):
    e, owner, _first = _submitted("虎门")
    better = dict(EXAMPLE, answers=EXAMPLE["answers"] | {"planning": "strategic_iterating"})
    second = filled(owner, e, example=better)
    services.assessment_submit(assessment=second, by=owner)
    client.force_login(user_for(Role.CITY))
    rows = client.get("/assessments/distribution/").context["rows"]
    assert sum(r["total"] for r in rows) == 1


def test_town_officer_sees_only_its_own_town(client):
    _submitted("虎门")
    _submitted("长安")
    client.force_login(user_for(Role.TOWN, town_name="长安"))
    rows = client.get("/assessments/distribution/?by=town").context["rows"]
    assert [r["name_zh"] for r in rows] == ["长安"]
    rows = client.get("/assessments/distribution/?by=cluster").context["rows"]
    assert sum(r["total"] for r in rows) == 1


@pytest.mark.parametrize("role", [Role.ENTERPRISE, Role.PROVIDER, Role.EXPERT])
def test_other_roles_get_a_404(client, role):
    client.force_login(user_for(role))
    assert client.get("/assessments/distribution/").status_code == 404
    assert client.get("/assessments/distribution.xlsx").status_code == 404


def test_the_distribution_is_counted_once_per_data_version_and_again_after_a_submission(
    client, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with django_capture_on_commit_callbacks(execute=True):
        _submitted("虎门")
    client.force_login(user_for(Role.CITY))
    url = "/assessments/distribution/?by=town"
    assert sum(r["total"] for r in client.get(url).context["rows"]) == 1
    with CaptureQueriesContext(connection) as warm:
        client.get(url)
    assert not any("assessments_assessmentresult" in q["sql"] for q in warm.captured_queries)
    with django_capture_on_commit_callbacks(execute=True):
        _submitted("长安")  # the submission moves the version on once it commits
    assert sum(r["total"] for r in client.get(url).context["rows"]) == 2


def test_the_distribution_makes_the_same_number_of_queries_however_many_towns_it_lists(client):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(user_for(Role.CITY))

    def queries() -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            client.get("/assessments/distribution/?by=town")
        return len(ctx.captured_queries)

    _submitted("虎门")
    few = queries()
    for name in ("长安", "塘厦", "松山湖", "莞城"):
        _submitted(name)
    assert queries() == few


def test_the_assessment_list_makes_the_same_number_of_queries_however_many_rows(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(user_for(Role.CITY))

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/assessments/").status_code == 200
        return len(ctx.captured_queries)

    _submitted("虎门")
    few = queries()
    for _ in range(6):
        _submitted("长安")
    assert queries() == few


def test_the_table_shows_each_towns_counts_and_total_in_the_chosen_language(client):
    for _ in range(2):
        _submitted("虎门")
    client.force_login(user_for(Role.CITY))
    html = client.get("/assessments/distribution/?by=town").content.decode()
    # name, 未达一级, 一级, 二级 (both firms), 三级 …, then the total
    assert '<tr><td>虎门</td><td class="text-end">0</td><td class="text-end">0</td>' in html
    assert '<td class="text-end">2</td>' in html and '<td class="text-end fw-bold">2</td>' in html
    client.cookies["django_language"] = "en"
    html = client.get("/assessments/distribution/?by=town").content.decode()
    assert "<tr><td>Humen</td>" in html
    assert '<th class="text-end">Level 2</th>' in html and "二级" not in html
    sheet = load_workbook(
        io.BytesIO(b"".join(client.get("/assessments/distribution.xlsx").streaming_content))
    ).active
    assert "Below Level 1" in next(sheet.iter_rows(values_only=True))
    assert "No submitted assessments" not in html
