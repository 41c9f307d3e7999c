"""Loading the city's reference data (towns, industry divisions, clusters) from CSV files.

Used by a data migration, so a fresh database has them, and by tests.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"


def read_csv(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def load_reference_data(apps: Any = None) -> None:
    """Insert or update towns, industries and clusters. Idempotent."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    Town = apps.get_model("core", "Town")
    Industry = apps.get_model("core", "Industry")
    Cluster = apps.get_model("core", "Cluster")
    towns: dict[str, Any] = {}
    for i, row in enumerate(read_csv("towns.csv")):
        town, _ = Town.objects.update_or_create(
            name_zh=row["name_zh"],
            defaults={"name_en": row["name_en"], "kind": row["kind"], "sort_order": i},
        )
        towns[town.name_zh] = town
    for row in read_csv("industries.csv"):
        Industry.objects.update_or_create(
            code=row["code"], defaults={"name_zh": row["name_zh"], "name_en": row["name_en"]}
        )
    for i, row in enumerate(read_csv("clusters.csv")):
        cluster, _ = Cluster.objects.update_or_create(
            key=row["key"],
            defaults={"name_zh": row["name_zh"], "name_en": row["name_en"], "sort_order": i},
        )
        codes = [c for c in row["industry_codes"].split(";") if c]
        cluster.industries.set(Industry.objects.filter(code__in=codes))
        names = [t for t in row["towns_known_for"].split(";") if t]
        cluster.towns_known_for.set([towns[n] for n in names])


# Towns, clusters and industries for select boxes, kept per process: every filter form needs
# them, and they change only when a superuser edits reference data. A save in this process
# clears them at once (signals, connected in CoreConfig.ready); other processes within TTL.
CHOICES_TTL_SECONDS = 300
_choices: dict[tuple[str, str], tuple[float, list[tuple[Any, str]]]] = {}


def _loaded(model_name: str) -> tuple[float, list[tuple[Any, str]]]:
    """(when loaded, the choices) in the active language: one tuple, read once, so a clear or
    reload by another thread cannot pair one load's time with another's list."""
    import time

    from django.apps import apps
    from django.utils.translation import get_language

    key = (model_name, get_language() or "")
    found = _choices.get(key)
    now = time.monotonic()
    if found is None or now - found[0] > CHOICES_TTL_SECONDS:
        model = apps.get_model("core", model_name)
        found = (now, [(obj.pk, obj.name) for obj in model.objects.all()])
        _choices[key] = found
    return found


def reference_choices(model_name: str) -> list[tuple[Any, str]]:
    """(pk, name in the active language) of "town", "cluster" or "industry", in display order."""
    return _loaded(model_name)[1]


def reference_names(model_name: str, ids: Any) -> dict[Any, str]:
    """{pk: name in the active language}, for list rows. An id not in the list loads it again
    (a town added since this process loaded it); a renamed town shows its old name in other
    processes until the list's TTL runs out, as the filter menus always have."""
    names = dict(reference_choices(model_name))
    if any(pk not in names for pk in ids if pk is not None):
        from django.utils.translation import get_language

        _choices.pop((model_name, get_language() or ""), None)
        names = dict(reference_choices(model_name))
    return names


def reference_options(model_name: str, empty_label: Any) -> Any:
    """An empty choice (empty_label) then reference_choices(), as Options (core.forms) that
    every filter form shares until the list is loaded again."""
    from django.utils.translation import get_language

    from .forms import shared_options

    loaded_at, choices = _loaded(model_name)
    return shared_options(
        ("reference", model_name, get_language() or "", str(empty_label), loaded_at),
        lambda: [("", empty_label), *choices],
    )


def reference_choices_clear(**kwargs: Any) -> None:
    _choices.clear()
