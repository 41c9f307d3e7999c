import os

import pytest
from hypothesis import settings as hypothesis_settings

# Tests do not time anything (benchmarks do): a property test must not fail because a loaded
# machine ran one example slowly.
hypothesis_settings.register_profile("yunshu", deadline=None)
hypothesis_settings.load_profile("yunshu")

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from the
# same thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: a test's rolled-back transaction never runs the
    on-commit bumps of yunshu.core.versions, so a figure cached by one test must not reach
    the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def city_user(db):
    from yunshu.accounts.models import Role
    from yunshu.factories import user_for

    return user_for(Role.CITY)


def _on_postgres() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests are deselected (not skipped) on SQLite; `make test` runs both."""
    if _on_postgres():
        return
    keep, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("postgres") else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped and os.environ.get("CI") == "true":
        terminalreporter.write_line(
            f"!!! {len(skipped)} test(s) skipped under CI=true; nothing may skip in CI !!!",
            red=True,
        )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and os.environ.get("CI") == "true" and exitstatus == 0:
        session.exitstatus = 1


@pytest.fixture
def reference_data(transactional_db):
    """Transactional tests flush every table afterwards; put the migration's data back."""
    from yunshu.core.models import AuditHead, Town
    from yunshu.core.reference import load_reference_data

    if not Town.objects.exists():
        load_reference_data()
    AuditHead.objects.get_or_create(pk=1)
    from yunshu.providers.models import CatalogueVersion, CertificateType
    from yunshu.providers.reference import certificate_types_seed

    certificate_types_seed(CertificateType, CatalogueVersion)
