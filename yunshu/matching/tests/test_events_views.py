import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from yunshu.accounts.models import Role
from yunshu.enterprises.models import AccessLogEntry
from yunshu.factories import provider, provider_user, town, user_for
from yunshu.matching import events as ev
from yunshu.matching.models import EventInvitation, EventOutcome, MatchmakingEvent
from yunshu.matching.tests.supply_factories import assessed, cluster, event, held

pytestmark = pytest.mark.django_db


@pytest.fixture
def city():
    return user_for(Role.CITY)


def xlsx(response):
    assert response.status_code == 200
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def count_queries(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def busy_event(city, n, *, title="对接会"):
    """An event that was held, with n enterprises and n providers invited, registered,
    attended, and an intention and a contract per pair."""
    e = event(city, title=title, capacity=100)
    ents = [assessed({"quality": 1}, account=True) for _ in range(n)]
    provs = [provider() for _ in range(n)]
    ev.event_invite(
        event=e,
        organisation_ids=[x.organisation.pk for x in ents] + [p.organisation_id for p in provs],
        by=city,
    )
    ev.event_transition(event=e, action="open", by=city)
    for x in ents:
        ev.event_register(event=e, attendee_name="张三", attendee_phone="13800000000", by=x.user)
    ev.event_transition(event=e, action="close", by=city)
    ev.event_attendance_mark(
        event=e, attended_ids=e.invitations.values_list("pk", flat=True), by=city
    )
    ev.event_transition(event=held(e), action="finish", by=city)
    for x, p in zip(ents, provs, strict=True):
        ev.event_outcome_record(event=e, enterprise=x, provider=p, kind="intention", by=city)
        ev.event_outcome_record(
            event=e, enterprise=x, provider=p, kind="contract", amount_yuan=Decimal(1000), by=city
        )
    return e, ents, provs


def test_city_creates_an_event_and_is_taken_to_the_invite_page(client, city):
    client.force_login(city)
    response = client.post(
        "/matching/events/new/",
        {
            "cluster": cluster("textile").pk,
            "title": "纺织服装对接会",
            "starts_at": "2031-05-01T09:30",
            "venue": "虎门会展中心",
            "capacity": 40,
        },
    )
    e = MatchmakingEvent.objects.get()
    assert response["Location"] == f"/matching/events/{e.pk}/invite/"
    assert (e.state, e.capacity, e.town, e.created_by) == ("draft", 40, None, city)


def test_event_form_errors_name_the_field_and_make_nothing(client, city):
    client.force_login(city)
    response = client.post(
        "/matching/events/new/",
        {
            "cluster": cluster().pk,
            "title": "x",
            "starts_at": "2001-01-01T09:00",
            "venue": "v",
            "capacity": 5,
        },
    )
    assert response.status_code == 200
    assert "开始时间须晚于现在" in response.content.decode()
    assert not MatchmakingEvent.objects.exists()


def test_town_officers_form_offers_only_its_own_town(client):
    client.force_login(user_for(Role.TOWN, town_name="长安"))
    form = client.get("/matching/events/new/").context["form"]
    assert list(form.fields["town"].queryset) == [town("长安")]


def test_event_page_shows_counts_and_the_officers_tables(client, city):
    e, _ents, _provs = busy_event(city, 2)
    client.force_login(city)
    response = client.get(f"/matching/events/{e.pk}/")
    c = response.context["counts"]
    assert (c.n_invited, c.n_registered, c.n_attended, c.n_intentions, c.n_contracts) == (
        4,
        4,
        4,
        2,
        2,  # walk-ins who were marked present count as registered
    )
    assert c.contract_amount == Decimal(2000)
    html = response.content.decode()
    assert 'data-testid="invitation-table"' in html and 'data-testid="outcome-form"' in html


def test_event_detail_takes_the_same_queries_however_many_invitees(client, city):
    small, _, _ = busy_event(city, 1, title="小")
    big, _, _ = busy_event(city, 6, title="大")
    client.force_login(city)
    assert count_queries(client, f"/matching/events/{small.pk}/") == count_queries(
        client, f"/matching/events/{big.pk}/"
    )


def test_event_list_takes_the_same_queries_however_many_events(client, city):
    busy_event(city, 1, title="第一场")
    client.force_login(city)
    few = count_queries(client, "/matching/events/")
    for i in range(4):
        busy_event(city, 2, title=f"第{i + 2}场")
    event(city, title="其他集群", cluster_key="food")
    assert count_queries(client, "/matching/events/") == few


def test_invitees_event_list_takes_the_same_queries_however_many_events(client, city):
    ent = assessed({}, account=True)
    e = event(city, title="一")
    ev.event_transition(event=e, action="open", by=city)
    client.force_login(ent.user)
    few = count_queries(client, "/matching/events/")
    for i in range(4):
        e = event(city, title=f"场次{i}")
        ev.event_invite(event=e, organisation_ids=[ent.organisation.pk], by=city)
        ev.event_transition(event=e, action="open", by=city)
    response = client.get("/matching/events/")
    assert len(response.context["page"]) == 5
    assert count_queries(client, "/matching/events/") == few


def test_invite_page_takes_the_same_queries_however_many_candidates(client, city):
    e = event(city)
    assessed({"quality": 1}, account=True)
    assessed({"quality": 1})
    provider().clusters_served.add(cluster("textile"))
    client.force_login(city)
    few = count_queries(client, f"/matching/events/{e.pk}/invite/")
    for _ in range(5):
        assessed({"quality": 1}, account=True)
        assessed({"energy": 0})
        provider().clusters_served.add(cluster("textile"))
    assert count_queries(client, f"/matching/events/{e.pk}/invite/") == few


def test_invite_page_lists_online_and_offline_enterprises_and_sends_invitations(client, city):
    e = event(city)
    online = assessed({"quality": 1}, account=True)
    offline = assessed({"quality": 1})
    prov = provider()
    prov.clusters_served.add(cluster("textile"))
    client.force_login(city)
    response = client.get(f"/matching/events/{e.pk}/invite/")
    assert [r["enterprise_id"] for r in response.context["online"]] == [online.pk]
    assert [r["enterprise_id"] for r in response.context["offline"]] == [offline.pk]
    assert response.context["run"] is None and 'data-testid="no-run"' in response.content.decode()
    response = client.post(
        f"/matching/events/{e.pk}/invite/",
        {"organisations": [online.organisation.pk, prov.organisation_id]},
    )
    assert response.status_code == 302
    assert set(EventInvitation.objects.values_list("organisation_id", flat=True)) == {
        online.organisation.pk,
        prov.organisation_id,
    }


def test_an_organisation_without_users_is_not_counted_as_invitable_online(client, city):
    from yunshu.factories import OrganisationFactory

    e = event(city)
    reachable = assessed({"quality": 1}, account=True)
    nobody = assessed({"quality": 1})
    OrganisationFactory(kind=Role.ENTERPRISE, name=nobody.name, enterprise=nobody)  # no users
    client.force_login(city)
    response = client.get(f"/matching/events/{e.pk}/invite/")
    assert [r["enterprise_id"] for r in response.context["online"]] == [reachable.pk]
    assert response.context["online_total"] == 1
    assert [r["enterprise_id"] for r in response.context["offline"]] == [nobody.pk]


def test_unassessed_enterprises_of_the_cluster_can_be_invited(client, city):
    from yunshu.factories import EnterpriseFactory

    e = event(city)
    fresh = EnterpriseFactory(cluster=cluster("textile"), town=town("虎门"))
    user_for(Role.ENTERPRISE, enterprise=fresh)
    EnterpriseFactory(cluster=cluster("furniture"))  # another cluster
    client.force_login(city)
    response = client.get(f"/matching/events/{e.pk}/invite/")
    assert [r["enterprise_id"] for r in response.context["unassessed"]] == [fresh.pk]
    org_id = response.context["unassessed"][0]["organisation_id"]
    assert f'data-testid="invite-org-{org_id}"' in response.content.decode()
    response = client.post(f"/matching/events/{e.pk}/invite/", {"organisations": [org_id]})
    assert response.status_code == 302
    assert EventInvitation.objects.get(event=e).organisation_id == org_id


def test_a_refused_invitee_is_named_and_what_was_ticked_stays_ticked(client, city):
    e = event(city)
    ent = assessed({"quality": 1}, account=True)
    cloud = provider(name="织云科技")
    cloud.clusters_served.add(cluster("textile"))
    client.force_login(city)
    client.get(f"/matching/events/{e.pk}/invite/")
    # The provider is suspended between loading the page and sending the invitations.
    cloud.vetting_state = "suspended"
    cloud.save(update_fields=["vetting_state"])
    response = client.post(
        f"/matching/events/{e.pk}/invite/",
        {"organisations": [ent.organisation.pk, cloud.organisation_id, 999999]},
        follow=True,
    )
    html = response.content.decode()
    assert "以下机构现在不能邀请" in html and "织云科技" in html
    assert "另有 1 家机构不存在或无权邀请" in html and "999999" not in html
    assert not EventInvitation.objects.exists()
    box = html[html.index(f'data-testid="invite-org-{ent.organisation.pk}"') :].split(">")[0]
    assert " checked" in box


def test_a_town_officer_is_not_told_the_name_of_a_firm_outside_its_town(client):
    humen = user_for(Role.TOWN, town_name="虎门")
    e = event(humen)
    far = assessed({"quality": 1}, account=True, town_name="长安")
    client.force_login(humen)
    response = client.post(
        f"/matching/events/{e.pk}/invite/", {"organisations": [far.organisation.pk]}
    )
    html = response.content.decode()
    assert far.name not in html and "另有 1 家机构不存在或无权邀请" in html


def test_the_invite_table_keeps_the_rank_and_score_visible_at_phone_width(client, city):
    e = event(city)
    assessed({"quality": 1}, account=True)
    assessed({"quality": 1, "energy": 0}, account=True)
    client.force_login(city)
    html = client.get(f"/matching/events/{e.pk}/invite/").content.decode()
    table = html[html.index('data-testid="candidate-enterprises"') :].split("</table>")[0]
    assert '<th class="text-end">推荐分</th>' in table  # not hidden below the md breakpoint
    assert [int(n) for n in re.findall(r'data-testid="rank">(\d+)<', table)] == [1, 2]


def test_offline_invitation_export_lists_enterprises_without_accounts_and_logs_access(client, city):
    e = event(city)
    assessed({"quality": 1}, account=True)
    offline = assessed(
        {"quality": 1, "energy": 0}, contact_name="陈经理", contact_phone="13900000000"
    )
    client.force_login(city)
    book = xlsx(client.get(f"/matching/events/{e.pk}/offline.xlsx"))
    assert book.sheetnames == ["线下邀请名单", "说明"]
    rows = list(book["线下邀请名单"].iter_rows(values_only=True))
    assert len(rows) == 2
    assert rows[1][:5] == (offline.name, offline.uscc, "虎门", "陈经理", "13900000000")
    assert rows[1][6] == 2 and "质量管理" in rows[1][7]
    assert AccessLogEntry.objects.filter(enterprise=offline, what="export").count() == 1


def test_enterprise_registers_through_the_page_and_a_double_post_registers_once(client, city):
    e = event(city, capacity=1)
    ent = assessed({"quality": 1}, account=True)
    ev.event_invite(event=e, organisation_ids=[ent.organisation.pk], by=city)
    ev.event_transition(event=e, action="open", by=city)
    client.force_login(ent.user)
    page = client.get(f"/matching/events/{e.pk}/")
    assert page.context["can_register"] and page.context["mine"].status == "invited"
    data = {"attendee_name": "张三", "attendee_phone": "13800000000"}
    for _ in range(2):
        assert client.post(f"/matching/events/{e.pk}/register/", data).status_code == 302
    assert EventInvitation.objects.get().status == "registered"
    page = client.get(f"/matching/events/{e.pk}/")
    assert page.context["seats_left"] == 0


def test_a_full_event_says_so_on_the_form(client, city):
    e = event(city, capacity=1)
    first, second = (assessed({}, account=True) for _ in range(2))
    ev.event_transition(event=e, action="open", by=city)
    ev.event_register(event=e, attendee_name="甲", attendee_phone="13800000000", by=first.user)
    client.force_login(second.user)
    response = client.post(
        f"/matching/events/{e.pk}/register/",
        {"attendee_name": "乙", "attendee_phone": "13800000001"},
    )
    assert response.status_code == 200 and "名额已满" in response.content.decode()


def test_a_full_event_shows_full_instead_of_the_registration_form(client, city):
    e = event(city, capacity=1)
    first, second = (assessed({}, account=True) for _ in range(2))
    ev.event_transition(event=e, action="open", by=city)
    ev.event_register(event=e, attendee_name="甲", attendee_phone="13800000000", by=first.user)
    client.force_login(second.user)
    html = client.get(f"/matching/events/{e.pk}/").content.decode()
    assert 'data-testid="event-full"' in html and "名额已满（共 1 个）" in html
    assert 'data-testid="register-form"' not in html
    # The one who holds the seat can still change its attendee.
    client.force_login(first.user)
    html = client.get(f"/matching/events/{e.pk}/").content.decode()
    assert 'data-testid="register-form"' in html and 'data-testid="event-full"' not in html


def test_marking_an_event_held_before_its_date_is_refused_with_a_message(client, city):
    e = event(city)
    for action in ("open", "close"):
        ev.event_transition(event=e, action=action, by=city)
    client.force_login(city)
    response = client.post(
        f"/matching/events/{e.pk}/transition/", {"action": "finish"}, follow=True
    )
    assert "举办后才能标记已举办" in response.content.decode()
    assert MatchmakingEvent.objects.get(pk=e.pk).state == "closed"


def done_with_invitees(city):
    e = event(city)
    ent = assessed({"quality": 1}, account=True)
    prov = provider()
    ev.event_invite(event=e, organisation_ids=[ent.organisation.pk, prov.organisation_id], by=city)
    for action in ("open", "close"):
        ev.event_transition(event=e, action=action, by=city)
    ev.event_transition(event=held(e), action="finish", by=city)
    return e, ent, prov


def test_both_the_dropdown_and_a_credit_code_are_refused_and_what_was_typed_is_kept(client, city):
    e, ent, prov = done_with_invitees(city)
    other = assessed({"quality": 1})
    client.force_login(city)
    response = client.post(
        f"/matching/events/{e.pk}/outcomes/",
        {
            "enterprise": ent.pk,
            "enterprise_uscc": other.uscc,
            "provider": prov.pk,
            "kind": "contract",
            "amount_yuan": "68000",
            "note": "首期",
        },
    )
    assert response.status_code == 200 and not EventOutcome.objects.exists()
    html = response.content.decode()
    assert "已在列表中选择了企业，又填写了统一社会信用代码：请只保留其中一项" in html
    assert f'value="{other.uscc}"' in html and 'value="68000"' in html and 'value="首期"' in html
    assert f'<option value="{ent.pk}" selected>' in html


def test_a_second_contract_of_the_same_pair_is_recorded_and_the_message_says_so(client, city):
    e, ent, prov = done_with_invitees(city)
    client.force_login(city)
    for amount in ("68000", "12000"):
        response = client.post(
            f"/matching/events/{e.pk}/outcomes/",
            {"enterprise": ent.pk, "provider": prov.pk, "kind": "contract", "amount_yuan": amount},
            follow=True,
        )
    html = response.content.decode()
    assert "已有 1 条“签约”记录，本条另计一条" in html
    assert EventOutcome.objects.filter(event=e, kind="contract").count() == 2
    counts = html[html.index('data-testid="event-counts"') :]
    assert 'data-count="contracts">2<' in counts and "¥80,000" in counts


def test_a_credit_code_typed_in_full_width_with_spaces_finds_the_enterprise(client, city):
    e, _ent, prov = done_with_invitees(city)
    phoned = assessed({"quality": 1})
    typed = " ".join(phoned.uscc[i : i + 6] for i in range(0, 18, 6))
    full_width = "".join(chr(ord(c) + 0xFEE0) if c != " " else "\u3000" for c in typed)
    client.force_login(city)
    response = client.post(
        f"/matching/events/{e.pk}/outcomes/",
        {"enterprise_uscc": full_width, "provider": prov.pk, "kind": "intention"},
    )
    assert response.status_code == 302
    assert EventOutcome.objects.get().enterprise == phoned


def test_officer_marks_attendance_and_records_an_outcome_by_credit_code(client, city):
    e = event(city)
    ent = assessed({"quality": 1}, account=True)
    phoned = assessed({"quality": 1})  # invited by phone, no account
    prov = provider()
    ev.event_invite(event=e, organisation_ids=[ent.organisation.pk, prov.organisation_id], by=city)
    for action in ("open", "close"):
        ev.event_transition(event=e, action=action, by=city)
    client.force_login(city)
    inv = EventInvitation.objects.get(organisation=ent.organisation)
    client.post(f"/matching/events/{e.pk}/attendance/", {"attended": [inv.pk]})
    assert EventInvitation.objects.get(pk=inv.pk).status == "attended"
    held(e)
    client.post(f"/matching/events/{e.pk}/transition/", {"action": "finish"})
    response = client.post(
        f"/matching/events/{e.pk}/outcomes/",
        {
            "enterprise_uscc": phoned.uscc.lower(),
            "provider": prov.pk,
            "kind": "contract",
            "amount_yuan": "56000.00",
        },
    )
    assert response.status_code == 302
    o = EventOutcome.objects.get()
    assert (o.enterprise, o.provider, o.amount_yuan) == (phoned, prov, Decimal("56000.00"))
    response = client.post(
        f"/matching/events/{e.pk}/outcomes/",
        {"enterprise": ent.pk, "provider": prov.pk, "kind": "contract", "amount_yuan": "-5"},
    )
    assert response.status_code == 200 and EventOutcome.objects.count() == 1
    response = client.post(
        f"/matching/events/{e.pk}/outcomes/",
        {"enterprise_uscc": "91440000000000000X", "provider": prov.pk, "kind": "intention"},
    )
    assert "找不到" in response.content.decode()


def test_events_export_has_cluster_totals_and_the_events(client, city):
    busy_event(city, 2)
    client.force_login(city)
    book = xlsx(client.get("/matching/events/export.xlsx"))
    assert book.sheetnames == ["按集群汇总", "对接会", "说明"]
    totals = list(book["按集群汇总"].iter_rows(values_only=True))
    assert totals[1] == (cluster("textile").name_zh, 1, 4, 4, 4, 2, 2, 2000)
    events = list(book["对接会"].iter_rows(values_only=True))
    assert len(events) == 2 and events[1][5] == "已举办"


def test_events_list_shows_totals_per_cluster_to_officers(client, city):
    busy_event(city, 1)
    client.force_login(city)
    totals = client.get("/matching/events/").context["totals"]
    assert [(t["cluster"].key, t["contracts"], t["amount"]) for t in totals] == [
        ("textile", 1, Decimal(1000))
    ]


def test_provider_sees_open_events_of_served_clusters_in_its_list(client, city):
    prov = provider()
    prov.clusters_served.add(cluster("textile"))
    e = event(city)
    ev.event_transition(event=e, action="open", by=city)
    event(city, title="食品", cluster_key="food")
    client.force_login(provider_user(prov))
    page = client.get("/matching/events/").context["page"]
    assert [x.pk for x in page] == [e.pk] and page[0].my_status is None


def test_officer_edits_an_open_event_but_not_a_done_one(client, city):
    e = event(city)
    ev.event_transition(event=e, action="open", by=city)
    client.force_login(city)
    form = client.get(f"/matching/events/{e.pk}/edit/").context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(cluster=e.cluster_id, starts_at="2031-06-01T10:00", venue="新的地点", capacity=80)
    assert client.post(f"/matching/events/{e.pk}/edit/", data).status_code == 302
    e.refresh_from_db()
    assert (e.venue, e.capacity) == ("新的地点", 80)
    ev.event_transition(event=e, action="close", by=city)
    ev.event_transition(event=held(e), action="finish", by=city)
    response = client.post(f"/matching/events/{e.pk}/edit/", data | {"venue": "再改"})
    assert response.status_code == 200 and "只有筹备中或报名中" in response.content.decode()
