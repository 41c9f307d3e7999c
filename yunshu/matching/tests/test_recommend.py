"""Live recommendations for one enterprise: levels, the no-assessment path, the cap, the page,
who may open it, what is logged, how many queries it takes, and `yunshu recommend`."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yunshu.accounts.models import Organisation, Role
from yunshu.assessments.models import Assessment, AssessmentResult, Questionnaire
from yunshu.core.models import Cluster, Town
from yunshu.enterprises.models import AccessLogEntry
from yunshu.factories import EnterpriseFactory, industry, product, provider, user_for
from yunshu.matching import recommend, snapshot
from yunshu.providers.catalogue_version import catalogue_bump

pytestmark = pytest.mark.django_db

MANDATORY_SCENES = [
    "product_design",
    "marketing",
    "production_control",
    "quality",
    "equipment",
    "safety",
    "energy",
    "procurement",
    "warehousing_logistics",
    "finance",
]
OPTIONAL_SCENES = [
    "process_design",
    "after_sales",
    "planning_scheduling",
    "human_resources",
    "collaboration",
    "decision_support",
]
ALL_SCENES = MANDATORY_SCENES + OPTIONAL_SCENES


@pytest.fixture(autouse=True)
def fresh_caches():
    """Factories create products without bumping the catalogue version, and test databases
    reuse ids: start every test from an empty snapshot and cache."""
    snapshot.clear()
    cache.clear()
    yield
    snapshot.clear()


def levels(default: int | None = 1, **given: int | None) -> dict[str, int | None]:
    return {k: given.get(k, default) for k in ALL_SCENES}


def assess(
    enterprise,
    scene_levels,
    *,
    days_ago: int = 1,
    source: str = "self",
    status: str = "submitted",
    level: int = 1,
):
    """A maturity assessment with its current result, as the assessment services store it."""
    org, _ = Organisation.objects.get_or_create(
        enterprise=enterprise, defaults={"kind": Role.ENTERPRISE, "name": enterprise.name}
    )
    when = timezone.now() - dt.timedelta(days=days_ago)
    a = Assessment.objects.create(
        enterprise=enterprise,
        questionnaire=Questionnaire.objects.get(key="maturity-2024"),
        source=source,
        status=status,
        organisation=org,
        submitted_at=when if status != "draft" else None,
        created_at=when,
    )
    AssessmentResult.objects.create(
        assessment=a, version=1, computed={"scene_levels": scene_levels}, level=level
    )
    return a


def ids(result) -> list[int]:
    return [i.product_id for i in result.items]


def test_levels_come_from_the_newest_submitted_assessment_and_drafts_do_not_count():
    e = EnterpriseFactory()
    assess(e, levels(1), days_ago=30, source="official", status="signed")
    newest = assess(e, levels(3, quality=0), days_ago=2)
    assess(e, levels(0), days_ago=0, status="draft")
    result = recommend.recommendations_live(enterprise=e)
    assert result.assessed and result.basis.assessment_id == newest.pk
    assert result.facts.levels["quality"] == 0 and result.facts.levels["equipment"] == 3


def test_an_unassessed_enterprise_gets_its_clusters_typical_levels_and_a_prompt(client):
    e = EnterpriseFactory()
    peers = [EnterpriseFactory(industry=e.industry) for _ in range(3)]
    assess(peers[0], levels(1, quality=1, after_sales=None))
    assess(peers[1], levels(2, quality=2, after_sales=None))
    assess(peers[2], levels(2, quality=2, after_sales=None))
    other = EnterpriseFactory(industry=industry("13"))  # another cluster: does not count
    assess(other, levels(4))
    result = recommend.recommendations_live(enterprise=e)
    # quality (1+2+2)/3 → 1; the rest (1+2+2)/3 → 1; after_sales nobody answered → 1.
    assert not result.assessed
    assert result.facts.levels == dict.fromkeys(ALL_SCENES, 1)
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    client.force_login(owner)
    page = client.get("/matching/recommendations/").content.decode()
    assert 'data-testid="not-assessed"' in page
    assert f'action="/assessments/start/{e.pk}/"' in page


def test_typical_levels_are_cached_and_recomputed_once_older_than_the_max_age(settings):
    e = EnterpriseFactory()
    assess(EnterpriseFactory(industry=e.industry), levels(1))
    assert recommend.recommendations_live(enterprise=e).facts.levels["quality"] == 1
    assess(EnterpriseFactory(industry=e.industry), levels(3))
    # A newer result exists, but the cached value is younger than ten minutes: kept.
    assert recommend.recommendations_live(enterprise=e).facts.levels["quality"] == 1
    settings.MATCHING_TYPICAL_LEVELS_MAX_AGE = 0
    # (1 + 3) / 2 = 2
    assert recommend.recommendations_live(enterprise=e).facts.levels["quality"] == 2


def test_an_assessment_missing_a_scene_takes_the_typical_level_for_it():
    e = EnterpriseFactory()
    peer = EnterpriseFactory(industry=e.industry)
    assess(peer, levels(3))
    partial = {k: v for k, v in levels(0).items() if k != "quality"}
    assess(e, partial)
    result = recommend.recommendations_live(enterprise=e)
    assert result.facts.levels["quality"] == 3 and result.facts.levels["equipment"] == 0


def test_a_product_that_closes_bigger_mandatory_gaps_ranks_first_with_its_parts_in_words():
    e = EnterpriseFactory()
    assess(e, levels(2, quality=1, collaboration=0))
    huge = product(scenes={"quality": 4})  # mandatory 一级→四级: 8 (to 二级) + 4 + 4 = 16
    small = product(scenes={"collaboration": 2})  # optional 0→2: 2 + 2 = 4
    result = recommend.recommendations_live(enterprise=e)
    assert ids(result)[:2] == [huge.pk, small.pk]
    first = result.items[0]
    assert first.parts.coverage == 16
    words = {w.key: w.lines for w in first.words}
    assert words["coverage"] == (
        "质量管理（约束性场景） 一级→四级：补齐到二级的差距 +8，再提升 +8",
    )
    assert "暂无可申请的开放补贴项目" in "".join(words["price"])
    assert "待补贴项目上线后按交付成效" in words["outcomes"][0]


def test_the_per_provider_cap_keeps_the_list_diverse(settings):
    e = EnterpriseFactory()
    assess(e, levels(0))
    big = provider(name="大服务商")
    own = [product(big, scenes={"quality": 4, "equipment": 4}) for _ in range(5)]
    others = [product(scenes={"finance": 1}) for _ in range(3)]
    result = recommend.recommendations_live(enterprise=e, top=5)
    picked = ids(result)
    assert picked[:2] == [own[0].pk, own[1].pk]
    assert sorted(picked[2:]) == sorted(p.pk for p in others)
    assert [i.provider_id for i in result.items].count(big.pk) == 2
    settings.MATCHING_PER_PROVIDER_CAP = 3
    assert [i.provider_id for i in recommend.recommendations_live(enterprise=e).items].count(
        big.pk
    ) == 3


def test_zero_coverage_products_are_still_listed():
    e = EnterpriseFactory()
    assess(e, levels(4))
    p = product(scenes={"quality": 2})
    result = recommend.recommendations_live(enterprise=e)
    assert ids(result) == [p.pk] and result.items[0].parts.coverage == 0


def test_hidden_withdrawn_and_unvetted_products_are_never_recommended():
    e = EnterpriseFactory()
    assess(e, levels(0))
    shown = product(scenes={"quality": 1})
    product(scenes={"quality": 4}, visibility="hidden_certificate")
    product(scenes={"quality": 4}, status="withdrawn")
    product(provider(state="suspended"), scenes={"quality": 4})
    assert ids(recommend.recommendations_live(enterprise=e)) == [shown.pk]


def test_the_snapshot_reloads_when_the_catalogue_version_moves():
    e = EnterpriseFactory()
    assess(e, levels(0))
    first = product(scenes={"quality": 1})
    catalogue_bump()
    assert ids(recommend.recommendations_live(enterprise=e)) == [first.pk]
    better = product(scenes={"quality": 4}, bump=False)
    # Not bumped: the cached snapshot is still used (one query checks the version).
    assert ids(recommend.recommendations_live(enterprise=e)) == [first.pk]
    catalogue_bump()
    assert ids(recommend.recommendations_live(enterprise=e)) == [better.pk, first.pk]


def test_local_fit_and_trust_parts_read_the_provider_and_product(settings):
    settings.MATCHING_REFERENCE_BUDGET_YUAN = {"small": 10_000}
    e = EnterpriseFactory(town=Town.objects.get(name_zh="长安"))
    assess(e, levels(4))
    prov = provider(trust_score=86)
    prov.towns_served.add(e.town)
    p = product(prov, scenes={"quality": 4}, clusters=[e.cluster], industries=[e.industry])
    parts = recommend.recommendations_live(enterprise=e).items[0].parts
    # fit 15 + 15; small band 20k–60k above the 10k budget → 0; trust 86 is grade A → 20;
    # local 5.
    assert (parts.fit, parts.price, parts.trust, parts.local) == (30, 0, 20, 5)
    assert p.pk == recommend.recommendations_live(enterprise=e).items[0].product_id


# -- the page ----------------------------------------------------------------------------------


def test_the_enterprise_page_shows_cards_with_parts_product_links_and_share_buttons(client):
    e = EnterpriseFactory()
    client.force_login(user_for(Role.ENTERPRISE, enterprise=e))
    assess(e, levels(1))
    p = product(scenes={"quality": 3})
    response = client.get("/matching/recommendations/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="recommendation"' in page and f'data-product="{p.pk}"' in page
    assert f'href="/catalogue/{p.pk}/"' in page
    assert f"/matching/share/?provider={p.provider_id}" in page
    assert "质量管理（约束性场景） 一级→三级：补齐到二级的差距 +8，再提升 +4" in page
    assert "评价不足3条，按中性计分 +3" in page
    # The enterprise looking at its own shortlist is not an outside access.
    assert not AccessLogEntry.objects.filter(enterprise=e).exists()


def test_an_officer_opening_a_firms_shortlist_is_logged_for_the_firm_and_cannot_share(client):
    e = EnterpriseFactory()
    product(scenes={"quality": 3})
    assess(e, levels(1))
    officer = user_for(Role.TOWN, town_name=e.town.name_zh)
    client.force_login(officer)
    page = client.get(f"/matching/recommendations/{e.pk}/").content.decode()
    assert 'data-testid="recommendation"' in page
    assert 'data-testid="share"' not in page and 'data-testid="start-assessment"' not in page
    entry = AccessLogEntry.objects.get(enterprise=e)
    assert entry.what == "assessments" and entry.viewer == officer


def test_an_officer_viewing_an_unassessed_firm_logs_a_profile_view_not_an_assessment_view(client):
    e = EnterpriseFactory()
    product(scenes={"quality": 3})
    officer = user_for(Role.CITY)
    client.force_login(officer)
    assert client.get(f"/matching/recommendations/{e.pk}/").status_code == 200
    entry = AccessLogEntry.objects.get(enterprise=e)
    assert entry.what == "profile" and entry.viewer == officer


def test_the_officers_view_of_a_firms_shortlist_is_worded_for_the_officer(client):
    e = EnterpriseFactory()
    product(scenes={"quality": 3})
    client.force_login(user_for(Role.CITY))
    page = client.get(f"/matching/recommendations/{e.pk}/").content.decode()
    assert f"为“{e.name}”推荐的产品" in page
    assert "为我推荐" not in page
    assert "该企业尚未提交数字化水平评估" in page and "该企业完成自评后" in page
    main = page[page.index('data-testid="not-assessed"') :]
    assert "贵企业" not in main and "您" not in main


def test_the_self_assessment_prompt_is_a_post_form_that_starts_the_maturity_questionnaire():
    import re

    from django.test import Client

    e = EnterpriseFactory()
    product(scenes={"quality": 3})
    owner = user_for(Role.ENTERPRISE, enterprise=e)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    page = browser.get("/matching/recommendations/").content.decode()
    form = re.search(
        r'<form method="post" action="([^"]+)"[^>]*'
        r'data-testid="start-assessment-form">(.*?)</form>',
        page,
        re.S,
    )
    assert form is not None, "the prompt is a form, not a link to a POST-only URL"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]+)"', form.group(2)))
    assert fields["questionnaire"] == "maturity-2024" and "csrfmiddlewaretoken" in fields
    response = browser.post(form.group(1), fields)
    started = Assessment.objects.get(enterprise=e)
    assert response.status_code == 302 and response["Location"] == f"/assessments/{started.pk}/"
    assert started.questionnaire.kind == "maturity" and started.source == "self"


def test_a_firm_whose_claim_is_pending_is_told_its_recommendations_come_after_approval(client):
    from yunshu.enterprises.models import EnterpriseClaim
    from yunshu.factories import OrganisationFactory, UserFactory

    firm = EnterpriseFactory()
    org = OrganisationFactory(kind=Role.ENTERPRISE, name=firm.name, enterprise=None)
    user = UserFactory(organisation=org)
    EnterpriseClaim.objects.create(enterprise=firm, organisation=org, applicant=user)
    client.force_login(user)
    response = client.get("/matching/recommendations/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"您对“{firm.name}”的认领申请正在审核中" in page
    assert "认领审核通过后，这里会显示为贵企业推荐的产品" in page
    assert not AccessLogEntry.objects.exists()


def test_the_unassessed_page_shows_the_typical_level_it_assumed_for_each_scene(client):
    e = EnterpriseFactory()
    assess(EnterpriseFactory(industry=e.industry), levels(1, equipment=3))
    product(scenes={"equipment": 4})
    client.force_login(user_for(Role.ENTERPRISE, enterprise=e))
    page = client.get("/matching/recommendations/").content.decode()
    assert "各场景的假设等级（集群典型水平）" in page
    table = page[page.index('data-testid="levels"') :]
    row = table[table.index('data-scene="equipment"') :].split("</tr>")[0]
    assert "三级" in row and "低于二级" not in row
    quality = table[table.index('data-scene="quality"') :].split("</tr>")[0]
    assert "一级" in quality and "低于二级" in quality
    assert "（等级按集群典型水平假设，并非本企业的评估结果）" in page


def test_each_card_shows_the_providers_trust_grade(client):
    e = EnterpriseFactory()
    product(provider(trust_score=41), scenes={"quality": 3})
    client.force_login(user_for(Role.ENTERPRISE, enterprise=e))
    page = client.get("/matching/recommendations/").content.decode()
    assert 'data-testid="trust-grade"' in page and "可信等级 D" in page
    assert "服务商可信等级 D（可信评分 41/100）+0" in page


ROLES = [Role.ENTERPRISE, Role.PROVIDER, Role.TOWN, Role.CITY, Role.EXPERT, Role.ASSESSOR]


@pytest.mark.parametrize(
    ("role", "own_page", "firm_page"),
    [
        (Role.ENTERPRISE, 200, 404),  # its own page only; another firm's is a 404
        (Role.PROVIDER, 404, 404),  # even with a grant, never another firm's shortlist
        (Role.TOWN, 404, 200),  # its own town's firm
        (Role.CITY, 404, 200),
        (Role.EXPERT, 404, 404),
        (Role.ASSESSOR, 404, 404),
        (Role.COLLEGE, 404, 404),
    ],
)
def test_permission_matrix_for_recommendation_pages(client, role, own_page, firm_page):
    from yunshu.factories import grant, provider_user

    firm = EnterpriseFactory(on_transformation_list=True)
    if role == Role.PROVIDER:
        user = provider_user(provider())
        grant(firm, user, scope_assessments=True)
    else:
        user = user_for(role, town_name=firm.town.name_zh)
    client.force_login(user)
    assert client.get("/matching/recommendations/").status_code == own_page
    assert client.get(f"/matching/recommendations/{firm.pk}/").status_code == firm_page


def test_a_town_officer_gets_a_404_for_a_firm_in_another_town(client):
    firm = EnterpriseFactory(town=Town.objects.get(name_zh="长安"))
    client.force_login(user_for(Role.TOWN, town_name="虎门"))
    assert client.get(f"/matching/recommendations/{firm.pk}/").status_code == 404
    assert client.get("/matching/recommendations/999999/").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert client.get("/matching/recommendations/").status_code == 302


def _queries(client, url) -> int:
    client.get(url)  # warm the snapshot and the session
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_page_takes_the_same_few_queries_however_many_products_there_are(client):
    e = EnterpriseFactory()
    client.force_login(user_for(Role.ENTERPRISE, enterprise=e))
    assess(e, levels(1))
    for _ in range(3):
        product(scenes={"quality": 3})
    catalogue_bump()
    few = _queries(client, "/matching/recommendations/")
    for _ in range(25):
        product(scenes={"equipment": 2}, clusters=list(Cluster.objects.all()[:2]))
    catalogue_bump()
    many = _queries(client, "/matching/recommendations/")
    assert few == many
    assert many <= 12  # session, user, notifications, version, enterprise, levels, ...


def test_the_top_parameter_is_clamped(client):
    e = EnterpriseFactory()
    for _ in range(4):
        product(scenes={"quality": 3})
    client.force_login(user_for(Role.ENTERPRISE, enterprise=e))
    page = client.get("/matching/recommendations/?top=2").content.decode()
    assert page.count('data-testid="recommendation"') == 2
    assert client.get("/matching/recommendations/?top=x").status_code == 200


# -- the command line --------------------------------------------------------------------------


def test_cli_prints_the_ranked_list_with_parts_as_json(capsys):
    e = EnterpriseFactory()
    assess(e, levels(2, quality=1))
    a = product(scenes={"quality": 3})
    b = product(scenes={"collaboration": 3})
    call_command("recommend", "--enterprise", e.uscc.lower(), "--top", "5", "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["enterprise"]["uscc"] == e.uscc and data["enterprise"]["assessed"] is True
    assert [r["product_id"] for r in data["recommendations"]] == [a.pk, b.pk]
    first = data["recommendations"][0]
    assert first["rank"] == 1 and first["parts"]["coverage"] == 12  # 一级→三级: 8 + 4
    assert first["total"] == sum(first["parts"].values())
    assert first["words"]["coverage"] == [
        "质量管理（约束性场景） 一级→三级：补齐到二级的差距 +8，再提升 +4"
    ]


def test_cli_prints_a_readable_table_without_json(capsys):
    e = EnterpriseFactory()
    p = product(scenes={"quality": 3}, name="质量追溯云")
    call_command("recommend", "--enterprise", e.uscc)
    out = capsys.readouterr().out
    assert "not assessed" in out and "total" in out and "质量追溯云" in out
    assert p.provider.name[:10] in out


def test_cli_finds_the_enterprise_by_a_code_typed_in_full_width_with_spaces(capsys):
    e = EnterpriseFactory()
    product(scenes={"quality": 3}, name="质量追溯云")
    typed = " ".join(e.uscc[i : i + 6] for i in range(0, 18, 6))
    full_width = "".join(chr(ord(c) + 0xFEE0) if c != " " else "\u3000" for c in typed.lower())
    call_command("recommend", "--enterprise", full_width, "--json")
    assert json.loads(capsys.readouterr().out)["enterprise"]["uscc"] == e.uscc


def test_cli_exits_1_with_a_clear_message_for_an_unknown_credit_code(capsys):
    with pytest.raises(SystemExit) as exit_:
        call_command("recommend", "--enterprise", "91441900MA00000000")
    assert exit_.value.code == 1
    assert "no enterprise with credit code '91441900MA00000000'" in capsys.readouterr().err
