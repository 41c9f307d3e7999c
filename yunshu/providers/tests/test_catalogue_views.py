"""The public catalogue, detail, comparison, provider profile, export and product form."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from yunshu.accounts.models import Role
from yunshu.core.models import Cluster, Industry, Town
from yunshu.factories import product, provider, provider_user, user_for, valid_certificate
from yunshu.providers.models import Product

pytestmark = pytest.mark.django_db


def names(response):
    return [p.name for p in response.context["page"].object_list]


@pytest.fixture
def shelf():
    lead = provider(name="东莞牵引数字科技有限公司", lead=True, trust_score=90, trust_grade="A")
    plain = provider(name="东莞普通软件有限公司", trust_score=50, trust_grade="C")
    textile = Cluster.objects.get(key="textile")
    return {
        "mes": product(
            lead,
            name="甲 MES",
            summary="车间管控",
            scenes={"production_control": 3, "quality": 2},
            clusters=[textile],
            industries=[Industry.objects.get(code="18")],
            price_bands={"micro": [5_000, 9_000], "small": [20_000, 40_000]},
            implementation_weeks=6,
            security_features=["mfa", "backup"],
        ),
        "wms": product(
            plain,
            name="乙 WMS",
            summary="仓库条码",
            scenes={"warehousing_logistics": 2},
            deployment="private",
            data_residency="on_premises",
            price_bands={"small": [10_000, 15_000], "large": [80_000, 90_000]},
            implementation_weeks=3,
            security_features=["audit_log"],
        ),
        "crm": product(
            plain,
            name="丙 CRM",
            summary="客户跟进，适合纺织外贸",
            scenes={"marketing": 3},
            price_bands={"small": [30_000, 50_000]},
            implementation_weeks=10,
        ),
    }


def test_the_public_catalogue_needs_no_login_and_hides_what_must_not_show(client, shelf):
    prov = provider()
    product(prov, name="过期隐藏", visibility="hidden_certificate")
    product(prov, name="草稿", status="draft")
    product(prov, name="已下架", status="withdrawn")
    product(provider(state="under_review"), name="待审服务商的")
    product(provider(state="suspended"), name="暂停服务商的")
    response = client.get("/catalogue/")
    assert response.status_code == 200
    assert sorted(names(response)) == sorted(p.name for p in shelf.values())


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=MES", {"甲 MES"}),
        ("q=纺织外贸", {"丙 CRM"}),  # summary
        ("q=普通软件", {"乙 WMS", "丙 CRM"}),  # provider name
        ("scene=warehousing_logistics", {"乙 WMS"}),
        ("deployment=private", {"乙 WMS"}),
        ("residency=on_premises", {"乙 WMS"}),
        ("security=mfa", {"甲 MES"}),
        ("security=audit_log", {"乙 WMS"}),
        ("weeks_max=6", {"甲 MES", "乙 WMS"}),
        ("lead=on", {"甲 MES"}),
        ("size_class=large", {"乙 WMS"}),
        ("size_class=small&price_max=20000", {"甲 MES", "乙 WMS"}),
        ("size_class=small&price_max=9999", set()),
        ("size_class=micro&price_max=5000", {"甲 MES"}),
    ],
)
def test_search_and_filters_narrow_the_list(client, shelf, query, expected):
    assert set(names(client.get(f"/catalogue/?{query}"))) == expected


def test_cluster_and_industry_filters(client, shelf):
    textile = Cluster.objects.get(key="textile")
    assert names(client.get(f"/catalogue/?cluster={textile.pk}")) == ["甲 MES"]
    assert names(client.get("/catalogue/?industry=18")) == ["甲 MES"]


def test_sorts_by_price_for_a_size_class_weeks_and_trust(client, shelf):
    assert names(client.get("/catalogue/?sort=price&size_class=small")) == [
        "乙 WMS",
        "甲 MES",
        "丙 CRM",
    ]
    assert names(client.get("/catalogue/?sort=weeks")) == ["乙 WMS", "甲 MES", "丙 CRM"]
    assert names(client.get("/catalogue/?sort=trust"))[0] == "甲 MES"
    # Relevance: a hit in the name ranks above one in the summary or the provider's name.
    product(provider(name="MES 专家有限公司"), name="丁 排程", summary="含 MES 接口")
    assert names(client.get("/catalogue/?q=MES"))[0] == "甲 MES"


def test_a_bad_filter_value_is_ignored_and_the_rest_still_filter(client, shelf):
    response = client.get("/catalogue/?price_max=-5&size_class=small&deployment=private")
    assert response.status_code == 200
    assert names(response) == ["乙 WMS"]


def test_htmx_returns_only_the_results_and_the_links_keep_the_filters(client, shelf):
    for i in range(30):
        product(name=f"填充产品{i:02d}", scenes={"quality": 2})
    response = client.get("/catalogue/?scene=quality&per_page=12", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and 'data-testid="product-cards"' in html
    assert "scene=quality" in html and "page=2" in html


def _queries(client, url):
    from django.core.cache import cache

    from yunshu.core.reference import reference_choices_clear

    # The cold case: the total is counted, the cluster and industry lists are read.
    cache.clear()
    reference_choices_clear()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def test_the_list_makes_the_same_number_of_queries_whatever_the_page_size(client, shelf):
    textile = Cluster.objects.get(key="textile")
    for i in range(110):
        product(
            provider() if i % 10 == 0 else shelf["mes"].provider,
            name=f"批量产品{i:03d}",
            scenes={"quality": 2, "energy": 3},
            clusters=[textile],
        )
    session = client.session
    session["catalogue_compare"] = [shelf["mes"].pk, shelf["wms"].pk]
    session.save()
    client.get("/catalogue/")  # this process reads the catalogue into its index once
    small, r1 = _queries(client, "/catalogue/?per_page=12&sort=price&size_class=small")
    large, r2 = _queries(client, "/catalogue/?per_page=96&sort=price&size_class=small")
    assert len(r1.context["page"].object_list) == 12
    assert len(r2.context["page"].object_list) == 96
    assert small == large <= 5  # version, session, user, compare list, notifications


def test_a_change_to_the_catalogue_shows_at_once_though_the_list_is_held_in_memory(client, shelf):
    assert "乙 WMS" in names(client.get("/catalogue/"))
    from yunshu.providers.vetting import provider_transition

    city = user_for(Role.CITY)
    provider_transition(provider=shelf["wms"].provider, action="suspend", by=city, reason="复核")
    after = names(client.get("/catalogue/"))
    assert "乙 WMS" not in after and "丙 CRM" not in after and "甲 MES" in after


def test_detail_shows_scenes_prices_features_and_the_provider_trust(client, shelf):
    response = client.get(f"/catalogue/{shelf['mes'].pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "生产管控" in html and "三级" in html and "¥20,000–40,000" in html
    assert 'data-testid="trust-panel"' in html and "东莞牵引数字科技有限公司" in html


def test_detail_of_a_draft_is_404_for_the_public_and_a_preview_for_its_owner(client):
    prov = provider()
    draft = product(prov, status="draft")
    assert client.get(f"/catalogue/{draft.pk}/").status_code == 404
    client.force_login(provider_user(provider()))
    assert client.get(f"/catalogue/{draft.pk}/").status_code == 404
    client.force_login(provider_user(prov))
    response = client.get(f"/catalogue/{draft.pk}/")
    assert (
        response.status_code == 200 and 'data-testid="preview-banner"' in response.content.decode()
    )


def test_compare_keeps_four_in_the_session_refuses_a_fifth_and_highlights_differences(client):
    items = [product(name=f"对比{i}", implementation_weeks=4 + (i == 2)) for i in range(5)]
    for item in items[:4]:
        client.post("/catalogue/compare/toggle/", {"product": item.pk}, HTTP_HX_REQUEST="true")
    response = client.post(
        "/catalogue/compare/toggle/", {"product": items[4].pk}, HTTP_HX_REQUEST="true"
    )
    assert "最多同时对比 4 个产品" in response.content.decode()
    page = client.get("/catalogue/compare/")
    assert [p.name for p in page.context["products"]] == ["对比0", "对比1", "对比2", "对比3"]
    rows = {r.label: r for r in page.context["rows"]}
    assert rows["实施周期（周）"].differs and not rows["部署方式"].differs
    assert 'data-differs="1"' in page.content.decode()
    # A shared link shows the same products without the session.
    shared = client.__class__().get(f"/catalogue/compare/?ids={items[0].pk},{items[4].pk}")
    assert [p.name for p in shared.context["products"]] == ["对比0", "对比4"]


def test_compare_without_htmx_redirects_back_with_a_message(client):
    item = product()
    response = client.post(
        "/catalogue/compare/toggle/", {"product": item.pk, "next": "/catalogue/?q=x"}
    )
    assert response.status_code == 302 and response["Location"] == "/catalogue/?q=x"
    response = client.post(
        "/catalogue/compare/toggle/", {"product": item.pk, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/catalogue/"


def test_a_product_that_left_the_catalogue_drops_out_of_the_comparison(client):
    a, b = product(name="留下"), product(name="下架")
    for item in (a, b):
        client.post("/catalogue/compare/toggle/", {"product": item.pk})
    Product.objects.filter(pk=b.pk).update(status="withdrawn")
    assert [p.name for p in client.get("/catalogue/compare/").context["products"]] == ["留下"]


def test_provider_profile_is_public_for_approved_providers_only(client, shelf):
    lead = shelf["mes"].provider
    lead.towns_served.set(Town.objects.filter(name_zh__in=["虎门", "长安"]))
    lead.rating_count, lead.rating_average = 3, "4.50"
    lead.save()
    response = client.get(f"/catalogue/providers/{lead.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "虎门" in html and "牵引单位" in html and "4.50" in html and "甲 MES" in html
    for state in ("suspended", "submitted", "revoked"):
        assert client.get(f"/catalogue/providers/{provider(state=state).pk}/").status_code == 404


@pytest.mark.parametrize("role", [Role.CITY, Role.TOWN])
def test_officials_export_the_filtered_catalogue(client, shelf, role):
    client.force_login(user_for(role))
    response = client.get("/catalogue/export.xlsx?deployment=saas")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "产品名称"
    assert sorted(r[0] for r in rows[1:]) == ["丙 CRM", "甲 MES"]
    mes = next(r for r in rows if r[0] == "甲 MES")
    assert "生产管控三级" in mes[5] and 20_000 in mes and "是" in mes


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.ENTERPRISE, Role.EXPERT])
def test_others_cannot_export(client, role):
    client.force_login(user_for(role))
    assert client.get("/catalogue/export.xlsx").status_code == 404


def test_anonymous_export_goes_to_login(client):
    assert client.get("/catalogue/export.xlsx").status_code == 302


def form_post(**overrides):
    data = {
        "name": "表单产品",
        "summary": "一句话",
        "deployment": "saas",
        "price_model": "subscription",
        "implementation_weeks": "4",
        "data_residency": "guangdong",
        "price_small_low": "10000",
        "price_small_high": "20000",
        "scene_quality": "3",
        "security_features": ["mfa"],
        "then": "publish",
    }
    data.update(overrides)
    return data


def test_the_form_creates_and_publishes_a_product(client):
    prov = provider()
    client.force_login(provider_user(prov))
    response = client.post("/catalogue/mine/new/", form_post())
    assert response.status_code == 302
    made = Product.objects.get(provider=prov)
    assert made.status == "published" and made.price_bands == {"small": [10_000, 20_000]}
    assert dict(made.scenes.values_list("scene", "lifts_to")) == {"quality": 3}


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"price_small_low": "30000"}, "price_small_low", "最低价 30,000 元高于最高价"),
        ({"price_small_low": "-1"}, "price_small_low", "不能为负数"),
        ({"price_small_high": "abc"}, "price_small_high", "须为整数"),
        ({"price_small_high": ""}, "price_small_high", "请同时填写"),
        ({"implementation_weeks": "200"}, "implementation_weeks", "1 到 104"),
    ],
)
def test_form_errors_name_the_field_and_nothing_is_saved(client, overrides, field, words):
    prov = provider()
    client.force_login(provider_user(prov))
    response = client.post("/catalogue/mine/new/", form_post(**overrides))
    assert response.status_code == 200
    assert words in " ".join(response.context["form"].errors[field])
    assert f'data-testid="error-{field}"' in response.content.decode()
    assert not Product.objects.filter(provider=prov).exists()


def test_publishing_without_a_scene_from_the_form_is_refused_with_a_message(client):
    prov = provider()
    client.force_login(provider_user(prov))
    response = client.post("/catalogue/mine/new/", form_post(scene_quality=""))
    assert response.status_code == 200
    assert "至少选择一个覆盖场景" in response.content.decode()
    assert not Product.objects.exists()
    # As a draft it may be saved without one.
    client.post("/catalogue/mine/new/", form_post(scene_quality="", then="draft"))
    assert Product.objects.get().status == "draft"


def test_my_products_shows_status_and_why_a_product_is_hidden(client):
    prov = provider()
    product(prov, name="正常")
    hidden = product(prov, name="被隐藏", visibility="hidden_certificate")
    Product.objects.filter(pk=hidden.pk).update(hidden_at="2026-01-05T02:00:00+08:00")
    product(provider(), name="别人的")
    client.force_login(provider_user(prov))
    response = client.get("/catalogue/mine/")
    html = response.content.decode()
    assert [p.name for p in response.context["products"]] == ["正常", "被隐藏"]
    assert "因缺少有效必备证书隐藏" in html and "2026-01-05" in html
    assert "展示中" in html


def test_edit_form_saves_changes(client):
    prov = provider()
    item = product(prov, name="旧名", scenes={"quality": 2})
    client.force_login(provider_user(prov))
    page = client.get(f"/catalogue/mine/{item.pk}/edit/")
    assert page.context["form"].initial["scene_quality"] == "2"
    response = client.post(
        f"/catalogue/mine/{item.pk}/edit/", form_post(name="新名", scene_energy="4")
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.name == "新名"
    assert dict(item.scenes.values_list("scene", "lifts_to")) == {"quality": 3, "energy": 4}


def test_publish_and_withdraw_buttons(client):
    prov = provider()
    item = product(prov, status="draft")
    client.force_login(provider_user(prov))
    client.post(f"/catalogue/mine/{item.pk}/publish/")
    item.refresh_from_db()
    assert item.status == "published"
    client.post(f"/catalogue/mine/{item.pk}/withdraw/")
    item.refresh_from_db()
    assert item.status == "withdrawn"


# -- the product form ---------------------------------------------------------------------


def test_the_product_form_has_no_default_data_residency_and_requires_one(client):
    prov = provider()
    client.force_login(provider_user(prov))
    page = client.get("/catalogue/mine/new/").content.decode()
    assert '<option value="" selected>请选择数据存储位置</option>' in page
    response = client.post("/catalogue/mine/new/", form_post(data_residency=""))
    assert "请选择数据存储位置" in response.context["form"].errors["data_residency"][0]
    assert not Product.objects.exists()


def test_saas_with_data_kept_on_premises_is_refused_with_a_clear_message(client):
    prov = provider()
    client.force_login(provider_user(prov))
    response = client.post(
        "/catalogue/mine/new/", form_post(deployment="saas", data_residency="on_premises")
    )
    assert "不能选择“数据留在企业本地”" in response.context["form"].errors["data_residency"][0]
    assert not Product.objects.exists()
    response = client.post(
        "/catalogue/mine/new/", form_post(deployment="private", data_residency="on_premises")
    )
    assert response.status_code == 302


def test_publishing_without_a_valid_mandatory_certificate_says_the_product_is_not_shown(client):
    prov = provider()
    client.force_login(provider_user(prov))
    response = client.post("/catalogue/mine/new/", form_post(), follow=True)
    made = Product.objects.get(provider=prov)
    assert made.status == "published" and made.visibility == "hidden_certificate"
    assert "暂不在目录中展示" in response.content.decode()
    valid_certificate(prov)
    client.post("/catalogue/mine/new/", form_post(name="有证书的产品"))
    assert Product.objects.get(name="有证书的产品").visibility == "visible"


# -- the public catalogue ------------------------------------------------------------------


def test_trust_badges_on_the_cards_are_coloured_by_grade(client, shelf):
    html = client.get("/catalogue/").content.decode()
    badge = (
        'class="badge bg-{} text-white" title="可信等级" data-testid="trust-badge" data-grade="{}"'
    )
    assert badge.format("green", "A") in html and badge.format("yellow", "C") in html
    assert 'bg-green-lt" title="可信等级"' not in html


@pytest.mark.parametrize(
    ("ceiling", "expected"),
    [
        ("9000", ["甲 MES"]),
        ("15000", ["乙 WMS", "甲 MES"]),
        ("100000", ["丙 CRM", "乙 WMS", "甲 MES"]),
    ],
)
def test_a_price_ceiling_without_a_size_compares_the_cheapest_band(
    client, shelf, ceiling, expected
):
    assert sorted(names(client.get(f"/catalogue/?price_max={ceiling}"))) == sorted(expected)


def test_a_negative_price_ceiling_is_a_visible_form_error_not_silently_dropped(client, shelf):
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = client.get("/catalogue/?price_max=-5", **headers)
        html = response.content.decode()
        assert 'data-testid="filter-errors"' in html and "价格上限不能为负数" in html
    assert "is-invalid" in client.get("/catalogue/?price_max=-5").content.decode()


def test_a_hidden_product_link_shows_a_friendly_page_with_a_404_status(client, shelf):
    item = shelf["mes"]
    Product.objects.filter(pk=item.pk).update(visibility="hidden_certificate")
    hidden = client.get(f"/catalogue/{item.pk}/")
    missing = client.get("/catalogue/999999/")
    assert hidden.status_code == missing.status_code == 404
    # The same page for a product that never existed: nothing is learnt from the answer.
    for response in (hidden, missing):
        html = response.content.decode()
        assert 'data-testid="product-gone"' in html and "浏览产品目录" in html
        assert item.name not in html and item.provider.name not in html


def test_the_public_provider_page_lists_its_valid_certificates_only(client, shelf):
    lead = shelf["mes"].provider
    valid_certificate(lead, number="44190013-2026-0001")
    valid_certificate(lead, key="iso27001", number="ISMS-OLD", days=-3)  # expired
    valid_certificate(lead, key="trusted_cloud", number="KXY-PENDING", status="pending")
    html = client.get(f"/catalogue/providers/{lead.pk}/").content.decode()
    assert 'data-testid="provider-certificates"' in html
    assert "44190013-2026-0001" in html
    assert "ISMS-OLD" not in html and "KXY-PENDING" not in html


# -- comparison -------------------------------------------------------------------------


def test_the_compare_page_removes_a_product_per_column_and_needs_at_least_two(client):
    a, b = product(name="对比甲"), product(name="对比乙")
    client.post("/catalogue/compare/toggle/", {"product": a.pk})
    tray = client.get("/catalogue/").content.decode()
    assert 'data-testid="compare-need-more"' in tray and "disabled" in tray
    page = client.get("/catalogue/compare/").content.decode()
    assert 'data-testid="compare-need-more"' in page
    client.post("/catalogue/compare/toggle/", {"product": b.pk})
    page = client.get("/catalogue/compare/").content.decode()
    assert page.count('data-testid="compare-remove-column"') == 2
    assert 'data-testid="compare-need-more"' not in page
    response = client.post(
        "/catalogue/compare/toggle/", {"product": b.pk, "next": "/catalogue/compare/"}
    )
    assert response["Location"] == "/catalogue/compare/"
    assert [p.name for p in client.get("/catalogue/compare/").context["products"]] == ["对比甲"]


# -- a provider's own products ----------------------------------------------------------


def test_a_suspended_providers_products_say_they_are_not_shown(client):
    prov = provider(state="suspended", vetting_reason="投诉未处理")
    valid_certificate(prov)
    product(prov, name="暂停中的产品")
    client.force_login(provider_user(prov))
    html = client.get("/catalogue/mine/").content.decode()
    assert "不展示：入库资格已暂停" in html and "展示中" not in html
    assert "入库资格已暂停：贵单位的产品目前都不在公开目录中展示" in html
    assert "投诉未处理" in html
    assert "入库（审核通过）后" not in html  # the wording for applicants, not a suspension


def test_a_pending_providers_uncertified_product_says_it_also_needs_the_certificate(client):
    prov = provider(state="submitted")
    product(prov, name="待入库产品", visibility="hidden_certificate")
    client.force_login(provider_user(prov))
    html = client.get("/catalogue/mine/").content.decode()
    assert "入库后展示" in html and "审核通过且必备证书获认可后在公开目录中展示" in html


@pytest.mark.parametrize("selected", [False, True])
def test_a_cards_compare_form_is_the_shared_compare_button_template(rf, selected):
    import re

    from django.contrib.auth.models import AnonymousUser
    from django.template.loader import render_to_string

    from yunshu.providers.cards import compare_form_html

    request = rf.get("/catalogue/?scene=quality")
    request.user = AnonymousUser()
    token = "t" * 64
    ours = compare_form_html(7, selected=selected, token=token, back=request.get_full_path())

    class P:
        pk = 7

    theirs = render_to_string(
        "catalogue/_compare_button.html",
        {"p": P(), "compare_ids": [7] if selected else [], "csrf_token": token},
        request=request,
    )
    theirs = re.sub(r">\s+<", "><", theirs).strip()
    assert ours == theirs


def test_cards_escape_what_providers_typed(client):
    from yunshu.factories import product, provider

    record = provider(name="<b>坏</b>服务商")
    product(record, name="<script>x</script>产品", summary='"引号" & <i>标签</i>')
    html = client.get("/catalogue/").content.decode()
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;产品" in html
    assert "&lt;b&gt;坏&lt;/b&gt;服务商" in html and "&amp; &lt;i&gt;标签&lt;/i&gt;" in html
