import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yunshu.accounts.models import Role
from yunshu.core.models import Cluster
from yunshu.core.reference import reference_choices_clear
from yunshu.factories import EnterpriseFactory, industry, town, user_for

pytestmark = pytest.mark.django_db


def _queries(client, url):
    # The cold case: the total is counted, the town and cluster lists are read.
    cache.clear()
    reference_choices_clear()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


@pytest.mark.parametrize("role", [Role.CITY, Role.TOWN])
def test_enterprise_list_makes_the_same_number_of_queries_whatever_the_page_size(client, role):
    for _ in range(120):
        EnterpriseFactory(town=town("虎门"))
    client.force_login(user_for(role))
    small, r1 = _queries(client, "/enterprises/?per_page=25")
    large, r2 = _queries(client, "/enterprises/?per_page=100")
    assert len(r1.context["page"].object_list) == 25 and len(r2.context["page"].object_list) == 100
    assert small == large


def _counts(ctx):
    return sum("COUNT(*)" in q["sql"] and "enterprises_enterprise" in q["sql"] for q in ctx)


def test_the_total_is_counted_once_per_data_version_and_again_after_a_write(
    client, django_capture_on_commit_callbacks
):
    for _ in range(3):
        EnterpriseFactory(town=town("虎门"))
    client.force_login(user_for(Role.CITY))
    with CaptureQueriesContext(connection) as first:
        assert client.get("/enterprises/").context["page"].paginator.count == 3
    with CaptureQueriesContext(connection) as second:
        assert client.get("/enterprises/?page=1").context["page"].paginator.count == 3
    assert _counts(first.captured_queries) == 1 and _counts(second.captured_queries) == 0
    with django_capture_on_commit_callbacks(execute=True):
        EnterpriseFactory(town=town("长安"))
    assert client.get("/enterprises/").context["page"].paginator.count == 4
    # Another filter is another count.
    page = client.get(f"/enterprises/?town={town('长安').pk}").context["page"]
    assert page.paginator.count == 1


def test_filters_combine_and_search_finds_by_name_or_code(client):
    a = EnterpriseFactory(
        name="东莞市甲电子有限公司", town=town("长安"), industry=industry("39"), specialised=True
    )
    EnterpriseFactory(name="东莞市乙电子有限公司", town=town("长安"), industry=industry("39"))
    EnterpriseFactory(name="东莞市丙服装有限公司", town=town("虎门"), specialised=True)
    client.force_login(user_for(Role.CITY))

    def names(query):
        return {e.name for e in client.get(f"/enterprises/?{query}").context["page"].object_list}

    assert names(f"town={town('长安').pk}&specialised=1") == {a.name}
    assert names("q=甲电子") == {a.name}
    assert names(f"q={a.uscc.lower()}") == {a.name}
    assert names(f"q={a.uscc[:10]}") == {a.name}
    cluster = Cluster.objects.get(key="textile")
    assert names(f"cluster={cluster.pk}") == {"东莞市丙服装有限公司"}


def test_sorting_by_revenue_descending(client):
    from decimal import Decimal

    for amount in ("100", "300", "200"):
        EnterpriseFactory(revenue=Decimal(amount) * 10000)
    client.force_login(user_for(Role.CITY))
    rows = client.get("/enterprises/?sort=-revenue").context["page"].object_list
    assert [r.revenue for r in rows] == sorted((r.revenue for r in rows), reverse=True)


def test_htmx_filter_returns_only_the_table(client):
    EnterpriseFactory()
    client.force_login(user_for(Role.CITY))
    response = client.get("/enterprises/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert 'data-testid="enterprise-table"' in html and "<html" not in html


def test_city_officer_sees_the_history_on_the_detail_page_and_town_does_not(client):
    e = EnterpriseFactory(town=town("虎门"))
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    client.force_login(owner)
    client.post(
        f"/enterprises/{e.pk}/edit/",
        {
            "name": "东莞市改名后有限公司",
            "industry": e.industry_id,
            "employees": 60,
            "revenue_wan": "800",
        },
    )
    e.refresh_from_db()
    assert e.name == "东莞市改名后有限公司"
    client.force_login(user_for(Role.CITY))
    page = client.get(f"/enterprises/{e.pk}/").content.decode()
    assert 'data-testid="history"' in page and "东莞市改名后有限公司" in page
    client.force_login(user_for(Role.TOWN, town_name="虎门"))
    assert 'data-testid="history"' not in client.get(f"/enterprises/{e.pk}/").content.decode()


def test_edit_form_with_a_bad_value_shows_the_field_error_and_changes_nothing(client):
    e = EnterpriseFactory(employees=50)
    client.force_login(user_for(Role.ENTERPRISE, enterprise=e))
    response = client.post(
        f"/enterprises/{e.pk}/edit/", {"name": "", "industry": e.industry_id, "employees": "-3"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"name", "employees"}
    e.refresh_from_db()
    assert e.employees == 50


def test_a_providers_view_of_its_shared_enterprises_list_is_logged_for_each_enterprise(client):
    from yunshu.enterprises.models import AccessLogEntry
    from yunshu.factories import grant

    shared = EnterpriseFactory()
    EnterpriseFactory()  # not shared: neither listed nor logged
    reader = user_for(Role.PROVIDER)
    grant(shared, reader)
    client.force_login(reader)
    page = client.get("/enterprises/").context["page"]
    assert [e.pk for e in page] == [shared.pk]
    [entry] = AccessLogEntry.objects.all()
    assert entry.enterprise_id == shared.pk and entry.what == "profile"
    assert entry.viewer == reader


def test_an_officers_list_rows_are_not_logged_but_the_detail_view_is(client):
    from yunshu.enterprises.models import AccessLogEntry

    e = EnterpriseFactory()
    client.force_login(user_for(Role.CITY))
    client.get("/enterprises/")
    assert not AccessLogEntry.objects.exists()
    client.get(f"/enterprises/{e.pk}/")
    assert AccessLogEntry.objects.filter(enterprise=e, what="profile").count() == 1


def test_list_rows_escape_what_they_show_and_format_numbers(client):
    from decimal import Decimal

    EnterpriseFactory(
        name='东莞市<script>alert("x")</script>有限公司',
        employees=1234,
        revenue=Decimal("45678900"),
        above_scale=True,
    )
    client.force_login(user_for(Role.CITY))
    html = client.get("/enterprises/").content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert ">1,234<" in html and ">4,568<" in html  # employees; revenue in ¥10,000
    assert "badge bg-blue-lt" in html


def test_list_rows_name_towns_and_clusters_in_the_chosen_language(client):
    EnterpriseFactory(town=town("长安"), name="东莞市语言测试有限公司")
    client.force_login(user_for(Role.CITY))
    html = client.get("/enterprises/?q=语言测试").content.decode()
    assert "<td>长安</td>" in html
    client.cookies["django_language"] = "en"
    html = client.get("/enterprises/?q=语言测试").content.decode()
    assert "<td>Chang&#x27;an</td>" in html


def test_a_town_added_by_another_process_is_named_at_once(client):
    from yunshu.core.models import Town

    client.force_login(user_for(Role.CITY))
    client.get("/enterprises/")  # this process has loaded the town list
    # bulk_create sends no signal: as if another process had added it.
    (new_town,) = Town.objects.bulk_create(
        [Town(name_zh="新设镇", name_en="New Town", kind="town", sort_order=99)]
    )
    EnterpriseFactory(town=new_town, name="东莞市新镇测试有限公司")
    html = client.get("/enterprises/?q=新镇测试").content.decode()
    assert "<td>新设镇</td>" in html
