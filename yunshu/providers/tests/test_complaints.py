"""Complaints: the one transition table, who sees what, pages, export and query counts."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from yunshu.accounts.models import Role
from yunshu.core.models import AuditEntry, Notification
from yunshu.factories import EnterpriseFactory, product, provider, provider_user, user_for
from yunshu.providers.complaints import (
    TRANSITIONS,
    complaint_actions,
    complaint_file,
    complaint_transition,
)
from yunshu.providers.models import Complaint


@pytest.fixture
def world(db):
    prov = provider(name="云启数字")
    other = provider(name="别家云")
    own = EnterpriseFactory(name="东莞市甲制造有限公司")
    users = {
        "enterprise": user_for(Role.ENTERPRISE, enterprise=own),
        "other_enterprise": user_for(Role.ENTERPRISE),
        "provider": provider_user(prov),
        "other_provider": provider_user(other),
        "city": user_for(Role.CITY),
        "town": user_for(Role.TOWN),
        "expert": user_for(Role.EXPERT),
        "assessor": user_for(Role.ASSESSOR),
        "college": user_for(Role.COLLEGE),
    }
    item = product(prov, name="云MES")
    return {"prov": prov, "other": other, "own": own, "users": users, "product": item}


def file(world, **kw):
    data = {
        "by": world["users"]["enterprise"],
        "provider": world["prov"],
        "subject": "实施延期",
        "body": "合同约定 8 周上线，现已 14 周仍未上线。",
        **kw,
    }
    return complaint_file(**data)


# -- the table --------------------------------------------------------------------------------


def test_the_table_is_exactly_the_agreed_workflow():
    assert {(s, a): (step.target, step.role) for (s, a), step in TRANSITIONS.items()} == {
        ("submitted", "respond"): ("responded", Role.PROVIDER),
        ("submitted", "escalate"): ("escalated", Role.ENTERPRISE),
        ("responded", "escalate"): ("escalated", Role.ENTERPRISE),
        ("responded", "accept"): ("resolved", Role.ENTERPRISE),
        ("escalated", "resolve"): ("resolved", Role.CITY),
        ("escalated", "dismiss"): ("dismissed", Role.CITY),
        ("submitted", "resolve"): ("resolved", Role.CITY),
        # The city can end a complaint from every open state: none stays open forever.
        ("submitted", "dismiss"): ("dismissed", Role.CITY),
        ("responded", "resolve"): ("resolved", Role.CITY),
        ("responded", "dismiss"): ("dismissed", Role.CITY),
    }


def test_happy_path_file_respond_accept(world):
    complaint = file(world, product=world["product"])
    provider_people = Notification.objects.filter(recipient=world["users"]["provider"])
    assert provider_people.count() == 1
    complaint = complaint_transition(
        complaint=complaint, action="respond", by=world["users"]["provider"], text="下周完成上线"
    )
    assert complaint.state == "responded" and complaint.provider_response == "下周完成上线"
    assert Notification.objects.filter(recipient=world["users"]["enterprise"]).count() == 1
    complaint = complaint_transition(
        complaint=complaint, action="accept", by=world["users"]["enterprise"]
    )
    assert complaint.state == "resolved" and complaint.closed_at is not None
    actions = list(
        AuditEntry.objects.filter(object_id=str(complaint.pk), object_type="providers.complaint")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["complaint.file", "complaint.respond", "complaint.accept"]


def test_escalation_reaches_the_city_which_must_write_its_resolution(world):
    complaint = file(world)
    with pytest.raises(ValidationError) as exc:
        complaint_transition(
            complaint=complaint, action="escalate", by=world["users"]["enterprise"]
        )
    assert "提请市局处理的理由" in exc.value.message_dict["text"][0]
    complaint = complaint_transition(
        complaint=complaint,
        action="escalate",
        by=world["users"]["enterprise"],
        text="两周未答复",
    )
    assert complaint.state == "escalated" and complaint.escalation_reason == "两周未答复"
    assert Notification.objects.filter(recipient=world["users"]["city"]).exists()
    with pytest.raises(ValidationError) as exc:
        complaint_transition(
            complaint=complaint, action="dismiss", by=world["users"]["city"], text=" "
        )
    assert "text" in exc.value.message_dict
    complaint = complaint_transition(
        complaint=complaint, action="dismiss", by=world["users"]["city"], text="合同未约定上线时间"
    )
    assert complaint.state == "dismissed" and complaint.resolution == "合同未约定上线时间"
    assert Notification.objects.filter(recipient=world["users"]["provider"]).count() == 3


def test_the_city_may_resolve_directly_from_submitted(world):
    complaint = file(world)
    complaint = complaint_transition(
        complaint=complaint, action="resolve", by=world["users"]["city"], text="已协调解决"
    )
    assert complaint.state == "resolved"


@pytest.mark.parametrize(
    ("state", "action", "who"),
    [
        ("submitted", "accept", "enterprise"),  # nothing to accept yet
        ("submitted", "respond", "enterprise"),  # not the enterprise's step
        ("submitted", "escalate", "provider"),
        ("responded", "respond", "provider"),  # answered already
        ("responded", "accept", "city"),  # only the enterprise accepts an answer
        ("escalated", "accept", "enterprise"),
        ("resolved", "escalate", "enterprise"),  # closed
        ("dismissed", "resolve", "city"),
        ("submitted", "fly", "city"),
    ],
)
def test_a_step_not_in_the_table_is_refused_and_changes_nothing(world, state, action, who):
    complaint = file(world)
    Complaint.objects.filter(pk=complaint.pk).update(state=state)
    complaint.refresh_from_db()
    with pytest.raises(ValidationError):
        complaint_transition(complaint=complaint, action=action, by=world["users"][who], text="x")
    complaint.refresh_from_db()
    assert complaint.state == state


@pytest.mark.parametrize("who", ["other_enterprise", "other_provider", "town", "expert", "college"])
def test_outsiders_get_a_404_from_the_service(world, who):
    complaint = file(world)
    with pytest.raises(Http404):
        complaint_transition(
            complaint=complaint, action="respond", by=world["users"][who], text="x"
        )


def test_a_double_click_files_one_complaint_and_acts_once(world):
    first, second = file(world), file(world)
    assert first.pk == second.pk and Complaint.objects.count() == 1
    complaint_transition(
        complaint=first, action="respond", by=world["users"]["provider"], text="好"
    )
    with pytest.raises(ValidationError):
        complaint_transition(
            complaint=first, action="respond", by=world["users"]["provider"], text="好"
        )
    assert AuditEntry.objects.filter(action="complaint.respond").count() == 1


def test_filing_checks_its_input(world):
    with pytest.raises(ValidationError) as exc:
        file(world, subject=" ", body="")
    assert set(exc.value.message_dict) == {"subject", "body"}
    with pytest.raises(ValidationError) as exc:
        file(world, product=product(world["other"]))
    assert "product" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        file(world, provider=provider(name="申请中", state="submitted"))
    assert "provider" in exc.value.message_dict
    with pytest.raises(Http404):
        file(world, by=world["users"]["provider"])
    assert not Complaint.objects.exists()


def test_actions_offered_match_the_side(world):
    complaint = file(world)
    assert [a for a, _s in complaint_actions(world["users"]["provider"], complaint)] == ["respond"]
    assert [a for a, _s in complaint_actions(world["users"]["enterprise"], complaint)] == [
        "escalate"
    ]
    assert [a for a, _s in complaint_actions(world["users"]["city"], complaint)] == [
        "resolve",
        "dismiss",
    ]
    assert complaint_actions(world["users"]["other_provider"], complaint) == []


# -- who sees what ----------------------------------------------------------------------------

LIST_VISIBLE = {
    "enterprise": {"mine"},
    "other_enterprise": {"theirs"},
    "provider": {"mine"},
    "other_provider": {"theirs"},
    "city": {"mine", "theirs"},
}


@pytest.mark.parametrize("who", [*list(LIST_VISIBLE), "town", "expert", "assessor", "college"])
def test_list_and_detail_show_exactly_what_each_role_may_see(client, world, who):
    mine = file(world)
    theirs = complaint_file(
        by=world["users"]["other_enterprise"], provider=world["other"], subject="别家", body="b"
    )
    client.force_login(world["users"][who])
    response = client.get("/providers/complaints/")
    if who not in LIST_VISIBLE:
        assert response.status_code == 404
    else:
        shown = {c.pk for c in response.context["page"]}
        assert shown == {{"mine": mine.pk, "theirs": theirs.pk}[k] for k in LIST_VISIBLE[who]}
    for key, c in (("mine", mine), ("theirs", theirs)):
        status = client.get(f"/providers/complaints/{c.pk}/").status_code
        assert status == (200 if key in LIST_VISIBLE.get(who, set()) else 404), (who, key)
    assert client.get("/providers/complaints/999999/").status_code == 404


@pytest.mark.parametrize(
    ("who", "new", "export"),
    [
        ("enterprise", 200, 404),
        ("provider", 404, 404),
        ("city", 404, 200),
        ("town", 404, 404),
        ("expert", 404, 404),
    ],
)
def test_permission_matrix_for_filing_and_export(client, world, who, new, export):
    client.force_login(world["users"][who])
    assert client.get("/providers/complaints/new/").status_code == new
    assert client.get("/providers/complaints/export/").status_code == export


def test_list_titles_follow_the_role(client, world):
    for who, title in (
        ("enterprise", "我的投诉"),
        ("provider", "收到的投诉"),
        ("city", "投诉处理"),
    ):
        client.force_login(world["users"][who])
        assert client.get("/providers/complaints/").context["title"] == title


# -- pages ------------------------------------------------------------------------------------


def test_an_enterprise_files_through_the_form_and_the_provider_answers_on_the_page(client, world):
    client.force_login(world["users"]["enterprise"])
    options = client.get("/providers/complaints/products/", {"provider": world["prov"].pk})
    assert "云MES" in options.content.decode()
    response = client.post(
        "/providers/complaints/new/",
        {
            "provider": world["prov"].pk,
            "product": world["product"].pk,
            "subject": "数据导出失败",
            "body": "导出按钮无响应",
        },
    )
    complaint = Complaint.objects.get()
    assert response.status_code == 302 and complaint.product == world["product"]
    client.force_login(world["users"]["provider"])
    page = client.get(f"/providers/complaints/{complaint.pk}/").content.decode()
    assert 'data-testid="action-respond"' in page
    response = client.post(
        f"/providers/complaints/{complaint.pk}/act/", {"action": "respond", "text": ""}
    )
    assert response.status_code == 400
    client.post(
        f"/providers/complaints/{complaint.pk}/act/", {"action": "respond", "text": "已修复"}
    )
    complaint.refresh_from_db()
    assert complaint.state == "responded"


def test_a_product_of_another_provider_is_refused_in_the_form(client, world):
    client.force_login(world["users"]["enterprise"])
    response = client.post(
        "/providers/complaints/new/",
        {
            "provider": world["prov"].pk,
            "product": product(world["other"]).pk,
            "subject": "s",
            "body": "b",
        },
    )
    assert response.status_code == 200 and not Complaint.objects.exists()
    assert 'data-testid="error-product"' in response.content.decode()


def test_city_filters_and_exports_complaints(client, world):
    file(world)
    c2 = complaint_file(
        by=world["users"]["other_enterprise"], provider=world["other"], subject="别家", body="b"
    )
    complaint_transition(complaint=c2, action="resolve", by=world["users"]["city"], text="ok")
    client.force_login(world["users"]["city"])
    page = client.get("/providers/complaints/", {"state": "open"}).context["page"]
    assert [c.subject for c in page] == ["实施延期"]
    page = client.get("/providers/complaints/", {"provider": world["other"].pk}).context["page"]
    assert [c.subject for c in page] == ["别家"]
    response = client.get("/providers/complaints/export/", {"state": "resolved"})
    rows = list(
        load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(
            values_only=True
        )
    )
    assert (
        rows[0][0] == "编号" and len(rows) == 2 and rows[1][6] == "别家" and rows[1][8] == "已解决"
    )


@pytest.mark.parametrize("who", ["city", "provider", "enterprise"])
def test_the_complaint_list_runs_a_constant_number_of_queries(client, world, who):
    client.force_login(world["users"][who])

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/providers/complaints/").status_code == 200
        return len(ctx.captured_queries)

    file(world)
    first = count()
    for n in range(10):
        file(world, subject=f"投诉{n}", product=world["product"])
    assert count() == first


# -- nothing stays open forever, and every step is on the timeline -----------------------------


@pytest.mark.parametrize("state", ["submitted", "responded"])
def test_the_city_can_dismiss_an_open_complaint_with_a_reason(world, state):
    complaint = file(world)
    if state == "responded":
        complaint = complaint_transition(
            complaint=complaint, action="respond", by=world["users"]["provider"], text="已处理"
        )
    city = world["users"]["city"]
    with pytest.raises(ValidationError) as exc:
        complaint_transition(complaint=complaint, action="dismiss", by=city, text="")
    assert "驳回理由" in exc.value.message_dict["text"][0]
    complaint = complaint_transition(
        complaint=complaint, action="dismiss", by=city, text="不属于服务质量问题"
    )
    assert complaint.state == "dismissed" and complaint.closed_at is not None
    assert complaint.get_state_display() == "已驳回"
    assert Notification.objects.filter(recipient=world["users"]["enterprise"]).exists()


def test_the_city_closes_a_responded_complaint_the_enterprise_left_unanswered(world):
    complaint = file(world)
    complaint = complaint_transition(
        complaint=complaint, action="respond", by=world["users"]["provider"], text="已退款"
    )
    complaint = complaint_transition(
        complaint=complaint, action="resolve", by=world["users"]["city"], text="核实已退款，结案"
    )
    assert complaint.state == "resolved" and complaint.resolution == "核实已退款，结案"


def test_every_step_is_on_the_timeline_with_who_and_when(client, world):
    complaint = file(world)
    complaint_transition(
        complaint=complaint, action="respond", by=world["users"]["provider"], text="下周上线"
    )
    complaint_transition(
        complaint=complaint, action="escalate", by=world["users"]["enterprise"], text="没上线"
    )
    complaint_transition(
        complaint=complaint, action="resolve", by=world["users"]["city"], text="已协调上线"
    )
    steps = list(complaint.events.values_list("action", "from_state", "to_state", "text"))
    assert steps == [
        ("file", "", "submitted", ""),
        ("respond", "submitted", "responded", "下周上线"),
        ("escalate", "responded", "escalated", "没上线"),
        ("resolve", "escalated", "resolved", "已协调上线"),
    ]
    client.force_login(world["users"]["enterprise"])
    page = client.get(f"/providers/complaints/{complaint.pk}/").content.decode()
    assert page.count('data-testid="timeline-step"') == 4
    assert "服务商答复" in page and "提请市工信局处理" in page and "没上线" in page
    assert complaint.provider.name in page and complaint.enterprise.name in page


def test_a_dismissed_complaint_does_not_count_as_unresolved_in_the_annual_review(world):
    from yunshu.providers.review import review_checklist

    complaint = file(world)
    checks = {i.key: i for i in review_checklist(complaint.provider, timezone.localdate().year)}
    assert checks["open_complaints"].figure == 1
    complaint_transition(
        complaint=complaint, action="dismiss", by=world["users"]["city"], text="无依据"
    )
    checks = {i.key: i for i in review_checklist(complaint.provider, timezone.localdate().year)}
    assert checks["open_complaints"].figure == 0 and checks["open_complaints"].passed
