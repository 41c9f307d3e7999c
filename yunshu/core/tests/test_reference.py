import subprocess
import sys

import pytest
from django.conf import settings

from yunshu.core.models import Cluster, Industry, Town


@pytest.mark.django_db
def test_reference_data_is_loaded_by_migration_with_both_names():
    assert Town.objects.count() == 33
    assert Town.objects.filter(kind="park").get().name_zh == "松山湖"
    assert list(Industry.objects.values_list("code", flat=True)) == [str(c) for c in range(13, 44)]
    for model in (Town, Industry, Cluster):
        assert not model.objects.filter(name_zh="").exists()
        assert not model.objects.filter(name_en="").exists()


@pytest.mark.django_db
def test_every_division_belongs_to_exactly_one_cluster():
    for industry in Industry.objects.all():
        assert industry.clusters.count() == 1, industry.code
    assert Cluster.objects.get(key="electronics").industries.count() == 2


@pytest.mark.django_db
def test_a_superuser_can_edit_reference_data_in_the_admin(admin_client):
    town = Town.objects.get(name_zh="虎门")
    response = admin_client.post(
        f"/admin/core/town/{town.pk}/change/",
        {"name_zh": "虎门", "name_en": "Humen Town", "kind": "town", "sort_order": town.sort_order},
    )
    assert response.status_code == 302
    town.refresh_from_db()
    assert town.name_en == "Humen Town"


def test_yunshu_help_lists_the_subcommands():
    result = subprocess.run(
        [sys.executable, "-m", "yunshu.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    for name in ("import-enterprises", "audit-verify", "demo", "manage"):
        assert name in result.stdout
