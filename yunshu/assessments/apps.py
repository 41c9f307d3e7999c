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
        from yunshu.core.versions import track

        from .models import Assessment, AssessmentResult

        # A draft counts nowhere until it is submitted (which saves it again).
        track(Assessment, "assessments", when=lambda a: a.status != Assessment.Status.DRAFT)
        track(AssessmentResult, "assessments")
