import pytest
from django.core import mail

from yunshu.accounts.models import Invitation, Role, User
from yunshu.factories import user_for

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-1"


def test_sign_in_and_out(client):
    user = user_for(Role.CITY)
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_repeated_failed_sign_ins_lock_the_account_even_with_the_right_password(client, settings):
    user = user_for(Role.CITY)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "锁定" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_password_reset_sends_an_email_with_a_working_link(client):
    user = user_for(Role.CITY)
    client.post("/accounts/password/reset/", {"email": user.email})
    assert len(mail.outbox) == 1
    link = next(
        line for line in mail.outbox[0].body.splitlines() if "/accounts/password/reset/" in line
    )
    path = link[link.index("/accounts/") :].strip()
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "new-long-pass-42", "new_password2": "new-long-pass-42"},
    )
    user.refresh_from_db()
    assert user.check_password("new-long-pass-42")


@pytest.mark.parametrize("role", list(Role))
def test_each_role_lands_on_its_own_home_page(client, role):
    client.force_login(user_for(role))
    response = client.get("/")
    assert response.status_code == 200
    assert f'data-testid="home-{role}"' in response.content.decode()


def test_org_admin_invites_a_member_who_joins_and_can_be_removed(
    client, django_capture_on_commit_callbacks
):
    admin = user_for(Role.PROVIDER, is_org_admin=True)
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/members/", {"email": "new@example.test"})
    invitation = Invitation.objects.get()
    assert mail.outbox[-1].to == ["new@example.test"]
    client.logout()
    client.post(
        f"/accounts/invite/{invitation.token}/",
        {"display_name": "李四", "username": "lisi", "password": "a-long-password-9"},
    )
    member = User.objects.get(username="lisi")
    assert member.organisation == admin.organisation
    client.force_login(admin)
    client.post(f"/accounts/members/{member.pk}/remove/")
    member.refresh_from_db()
    assert not member.is_active


def test_a_plain_member_cannot_manage_members(client):
    member = user_for(Role.PROVIDER)
    client.force_login(member)
    assert client.get("/accounts/members/").status_code == 404


def test_an_invitation_cannot_be_used_twice(client):
    admin = user_for(Role.CITY)
    from yunshu.accounts.services import invitation_create

    invitation = invitation_create(
        organisation=admin.organisation, email="x@example.test", by=admin
    )
    data = {"display_name": "王五", "username": "wangwu", "password": "a-long-password-9"}
    client.post(f"/accounts/invite/{invitation.token}/", data)
    client.logout()
    response = client.post(f"/accounts/invite/{invitation.token}/", data | {"username": "wangwu2"})
    assert "邀请链接无效或已过期" in response.content.decode()
    assert not User.objects.filter(username="wangwu2").exists()


def test_enterprise_signup_page_creates_a_pending_enterprise(client):
    from yunshu.core.models import Industry, Town

    response = client.post(
        "/accounts/signup/",
        {
            "uscc": "91441900618163186Q",
            "name": "广东生益科技股份有限公司",
            "town": Town.objects.get(name_zh="松山湖").pk,
            "industry": Industry.objects.get(code="39").pk,
            "contact_name": "张三",
            "contact_phone": "13800000000",
            "email": "a@example.test",
            "username": "sy",
            "password": "a-long-password-1",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_enterprise_signup_with_a_bad_code_names_the_reason(client):
    response = client.post("/accounts/signup/", {"uscc": "91441900618163186A", "name": "x"})
    assert response.status_code == 200
    assert "校验" in " ".join(response.context["form"].errors["uscc"])


def test_city_home_counts_enterprises_by_size_class_with_their_names(client):
    from yunshu.factories import EnterpriseFactory

    EnterpriseFactory(employees=5)
    EnterpriseFactory(employees=50)
    client.force_login(user_for(Role.CITY))
    html = client.get("/").content.decode()
    assert html.index("小型") < html.index("微型")  # largest class first
