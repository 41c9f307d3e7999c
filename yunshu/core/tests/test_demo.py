import pytest

from yunshu.accounts.models import Role, User
from yunshu.core import uscc
from yunshu.core.audit import audit_verify
from yunshu.core.demo import DEMO_PASSWORD, build_demo_world
from yunshu.core.models import Cluster, Town
from yunshu.enterprises.models import Enterprise


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        from django.db import transaction

        with transaction.atomic():
            made, users = build_demo_world(scale=2000, seed=11)
            yield made, users
            transaction.set_rollback(True)


@pytest.mark.django_db
def test_demo_world_covers_every_town_and_cluster_with_valid_dongguan_codes(demo):
    made, _users = demo
    assert made == 2000
    assert not Town.objects.filter(enterprises=None).exists()
    assert not Cluster.objects.filter(enterprises=None).exists()
    for code in Enterprise.objects.values_list("uscc", flat=True):
        result = uscc.validate(code)
        assert result.ok and not result.warnings and code[2:8] == "441900"


@pytest.mark.django_db
def test_demo_world_is_mostly_small_and_micro_firms(demo):
    total = Enterprise.objects.count()
    small_or_micro = Enterprise.objects.filter(size_class__in=["small", "micro"]).count()
    assert small_or_micro / total > 0.8
    assert Enterprise.objects.filter(size_class="medium").exists()


@pytest.mark.django_db
def test_demo_world_has_one_user_per_role_with_the_printed_password(demo):
    _made, users = demo
    assert {u.username for u in users} == {r.value for r in Role}
    for role in Role:
        user = User.objects.get(username=role.value)
        assert user.organisation.kind == role and user.check_password(DEMO_PASSWORD)


@pytest.mark.django_db
def test_demo_bulk_writes_keep_the_audit_chain_verifiable(demo):
    assert audit_verify()[1] is None


def test_same_seed_gives_the_same_enterprises():
    import random

    from yunshu.core.demo import make_uscc

    assert [make_uscc(random.Random(5)) for _ in range(3)] == [
        make_uscc(random.Random(5)) for _ in range(3)
    ]
