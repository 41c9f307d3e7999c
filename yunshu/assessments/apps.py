from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _load_shipped_versions(sender: AppConfig, **kwargs: Any) -> None:
    # The repository's questionnaire and rule files are stored after every migrate, so a
    # new version is a new file and nothing else.
    from .definitions import questionnaires_load

    questionnaires_load()


class AssessmentsConfig(AppConfig):
    name = "yunshu.assessments"
    label = "assessments"
    verbose_name = _("评估")

    def ready(self) -> None:
        post_migrate.connect(_load_shipped_versions, sender=self)
