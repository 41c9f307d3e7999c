import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from yunshu.accounts.models import Role
from yunshu.enterprises.models import AccessLogEntry
from yunshu.factories import EnterpriseFactory, product, provider, town, user_for
from yunshu.matching import supply
from yunshu.matching.tests.supply_factories import assess, assessed, cluster

pytestmark = pytest.mark.django_db


def cell(heatmap, cluster_key, scene):
    row = next(r for r in heatmap.rows if r.cluster.key == cluster_key)
    return next(c for c in row.cells if c.scene.key == scene), row


def test_demand_counts_enterprises_below_target_and_skips_not_applicable_scenes():
    assessed({"quality": 1})
    assessed({"quality": 0})
    assessed({"quality": 2})
    assessed({"quality": 3})
    assessed({"quality": "na"})
    assessed({"quality": 1}, cluster_key="furniture")
    EnterpriseFactory(cluster=cluster("textile"))  # not assessed: counted in the cluster only
    heatmap = supply.supply_demand(user_for(Role.CITY))
    quality, row = cell(heatmap, "textile", "quality")
    assert quality.demand == 2
    assert (row.enterprises, row.assessed) == (6, 5)
    assert cell(heatmap, "furniture", "quality")[0].demand == 1
    assert cell(heatmap, "textile", "energy")[0].demand == 0
    assert heatmap.target == 2 and heatmap.target_label == "二级"
    assert len(heatmap.scenes) == 16 and heatmap.questionnaire == "maturity-2024"


def test_only_each_enterprises_latest_submitted_assessment_counts():
    import datetime as dt

    from django.utils import timezone

    e = assessed({"quality": 1})
    assess(e, {"quality": 3}, when=timezone.now() + dt.timedelta(minutes=1))
    quality, row = cell(supply.supply_demand(user_for(Role.CITY)), "textile", "quality")
    assert quality.demand == 0 and row.assessed == 1


def test_target_level_comes_from_settings(settings):
    assessed({"quality": 2})
    assessed({"quality": 1})
    settings.MATCHING_TARGET_LEVEL = 3
    heatmap = supply.supply_demand(user_for(Role.CITY))
    assert heatmap.target_label == "三级"
    assert cell(heatmap, "textile", "quality")[0].demand == 2


def make_catalogue():
    a, b, c = provider(name="甲云"), provider(name="乙云"), provider(name="丙云")
    p1 = product(a, scenes={"quality": 2}, clusters=[cluster("textile")])
    p2 = product(a, scenes={"quality": 3, "energy": 2})  # general: every cluster
    p3 = product(b, scenes={"quality": 2}, clusters=[cluster("furniture")])
    product(c, scenes={"quality": 1})  # lifts below the target
    product(c, scenes={"quality": 3}, status="draft")
    product(c, scenes={"quality": 3}, visibility="hidden_certificate")
    product(provider(state="suspended"), scenes={"quality": 4})
    return a, b, p1, p2, p3


def test_supply_counts_products_for_the_cluster_or_general_and_their_distinct_providers():
    _a, _b, p1, p2, p3 = make_catalogue()
    heatmap = supply.supply_demand(user_for(Role.CITY))
    textile, _ = cell(heatmap, "textile", "quality")
    furniture, _ = cell(heatmap, "furniture", "quality")
    food, _ = cell(heatmap, "food", "quality")
    assert (textile.products, textile.providers) == (2, 1)  # one provider with two products
    assert (furniture.products, furniture.providers) == (2, 2)
    assert (food.products, food.providers) == (1, 1)
    assert cell(heatmap, "food", "energy")[0].products == 1
    assert set(supply.cell_products(cluster("textile"), "quality")) == {p1, p2}
    assert set(supply.cell_products(cluster("furniture"), "quality")) == {p2, p3}


def test_gap_is_demand_per_product_and_no_supply_is_flagged():
    for _ in range(3):
        assessed({"quality": 1, "energy": 1})
    make_catalogue()
    heatmap = supply.supply_demand(user_for(Role.CITY))
    quality = cell(heatmap, "textile", "quality")[0]
    assert quality.gap == 1.5 and not quality.no_supply
    finance = cell(heatmap, "textile", "finance")[0]
    assert finance.demand == 0 and not finance.no_supply
    assessed({"finance": 1})
    finance = cell(supply.supply_demand(user_for(Role.CITY)), "textile", "finance")[0]
    assert finance.no_supply and finance.gap == 1.0


def test_town_officer_sees_its_own_towns_demand_with_citywide_supply():
    assessed({"quality": 1}, town_name="虎门")
    assessed({"quality": 1}, town_name="长安")
    make_catalogue()
    heatmap = supply.supply_demand(user_for(Role.TOWN, town_name="长安"))
    quality, row = cell(heatmap, "textile", "quality")
    assert quality.demand == 1 and row.enterprises == 1 and quality.products == 2


def heatmap_queries(client, user):
    client.force_login(user)
    client.get("/matching/supply/")  # warm the session and questionnaire caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/matching/supply/")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_heatmap_takes_the_same_few_queries_however_many_enterprises_and_products(client):
    city = user_for(Role.CITY)
    assessed({"quality": 1})
    make_catalogue()
    few = heatmap_queries(client, city)
    for key in ("textile", "furniture", "food", "toys"):
        for _ in range(5):
            assessed({"quality": 1, "energy": 0}, cluster_key=key)
    make_catalogue()
    assert heatmap_queries(client, city) == few
    assert few <= 12


def test_heatmap_page_shows_table_and_chart_data(client):
    assessed({"quality": 1})
    make_catalogue()
    client.force_login(user_for(Role.CITY))
    response = client.get("/matching/supply/?metric=gap")
    assert response.status_code == 200
    chart = response.context["heatmap_chart"]
    assert chart["metric"] == "gap" and len(chart["scenes"]) == 16
    y = chart["cluster_ids"].index(cluster("textile").pk)
    x = chart["scene_keys"].index("quality")
    assert [x, y, 0.5] in chart["values"]["gap"]
    assert [x, y, 1] in chart["values"]["demand"]
    assert [x, y, 2] in chart["values"]["supply"]
    html = response.content.decode()
    assert 'data-testid="heatmap-table"' in html and "heatmap-data" in html


def test_cell_lists_the_products_and_the_enterprises_behind_it(client):
    low = assessed({"quality": 0})
    assessed({"quality": 2})
    far = assessed({"quality": 1}, town_name="长安")
    _a, _b, p1, p2, _p3 = make_catalogue()
    client.force_login(user_for(Role.CITY))
    url = f"/matching/supply/cell/?cluster={cluster('textile').pk}&scene=quality"
    response = client.get(url, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert f"/catalogue/products/{p1.pk}/" in html and f"/catalogue/products/{p2.pk}/" in html
    assert f"/enterprises/{low.pk}/" in html and f"/enterprises/{far.pk}/" in html
    assert response.context["enterprise_count"] == 2 and response.context["product_count"] == 2
    assert "<html" not in html  # the htmx partial
    assert "<html" in client.get(url).content.decode()
    client.force_login(user_for(Role.TOWN, town_name="虎门"))
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert f"/enterprises/{low.pk}/" in html and f"/enterprises/{far.pk}/" not in html


def test_cell_of_an_unknown_scene_or_cluster_is_a_404(client):
    client.force_login(user_for(Role.CITY))
    assert (
        client.get(f"/matching/supply/cell/?cluster={cluster().pk}&scene=nope").status_code == 404
    )
    assert client.get("/matching/supply/cell/?cluster=99999&scene=quality").status_code == 404


def test_export_has_the_table_and_a_sheet_explaining_columns_and_target(client):
    assessed({"quality": 1})
    make_catalogue()
    client.force_login(user_for(Role.CITY))
    response = client.get("/matching/supply/export.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert book.sheetnames == ["供需明细", "说明"]
    rows = list(book["供需明细"].iter_rows(values_only=True))
    assert rows[0][:6] == (
        "产业集群",
        "场景",
        "约束性场景",
        "集群企业数",
        "已评估企业数",
        "未达标企业数",
    )
    textile = next(r for r in rows if r[0] == cluster("textile").name_zh and r[1] == "质量管理")
    assert textile[5:9] == (1, 2, 1, 0.5)
    notes = {r[0]: r[1] for r in book["说明"].iter_rows(values_only=True)}
    assert notes["目标等级"] == "二级" and "二级" in notes["未达标企业数"]
    assert len(rows) == 1 + 16 * len(supply.supply_demand(user_for(Role.CITY)).rows)


ROLES = [
    Role.CITY,
    Role.TOWN,
    Role.ENTERPRISE,
    Role.PROVIDER,
    Role.EXPERT,
    Role.ASSESSOR,
    Role.COLLEGE,
]
ALLOWED = {Role.CITY, Role.TOWN}


@pytest.mark.parametrize("role", [*ROLES, None])
def test_only_officers_open_a_cell(client, role):
    # The rest of the matrix is in test_supply_permissions.py.
    url = f"/matching/supply/cell/?cluster={cluster().pk}&scene=quality"
    if role is not None:
        client.force_login(user_for(role))
    response = client.get(url)
    if role is None:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    elif role in ALLOWED:
        assert response.status_code == 200
    else:
        assert response.status_code == 404


def test_exporting_the_table_logs_no_enterprise_access(client):
    # The export holds counts, not enterprise data: nothing to log for any enterprise.
    assessed({"quality": 1})
    client.force_login(user_for(Role.CITY))
    client.get("/matching/supply/export.xlsx")
    assert not AccessLogEntry.objects.exists()


def test_enterprises_in_no_cluster_are_left_out():
    e = EnterpriseFactory(town=town("虎门"), cluster=None)
    assess(e, {"quality": 1})
    heatmap = supply.supply_demand(user_for(Role.CITY))
    assert sum(c.demand for r in heatmap.rows for c in r.cells) == 0


def test_heatmap_and_cell_render_in_english(client):
    assessed({"quality": 1})
    make_catalogue()
    client.force_login(user_for(Role.CITY))
    client.cookies["django_language"] = "en"
    response = client.get("/matching/supply/")
    assert response.status_code == 200
    chart = response.context["heatmap_chart"]
    assert "Quality management" in chart["scenes"]
    assert cluster("textile").name_en in chart["clusters"]
    url = f"/matching/supply/cell/?cluster={cluster('textile').pk}&scene=quality"
    assert client.get(url).status_code == 200


def test_level_names_on_the_heatmap_and_its_cells_follow_the_language(client):
    e = assessed({"quality": 1})
    make_catalogue()
    client.force_login(user_for(Role.CITY))
    client.cookies["django_language"] = "en"
    page = client.get("/matching/supply/")
    assert page.context["heatmap"].target_label == "Level 2"
    html = client.get(
        f"/matching/supply/cell/?cluster={cluster('textile').pk}&scene=quality"
    ).content.decode()
    assert e.name in html
    # No Chinese level names in the English page: the products' and the firm's levels.
    for chinese in ("未达一级", "一级", "二级", "三级", "四级"):
        assert chinese not in html
    assert "Level 1" in html


def test_the_heatmap_calls_mandatory_scenes_by_the_same_name_as_the_recommendations(client):
    assessed({"quality": 1})
    client.force_login(user_for(Role.CITY))
    html = client.get("/matching/supply/").content.decode()
    assert "* 为约束性场景" in html and "必选" not in html
