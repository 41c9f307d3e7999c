from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvidersConfig(AppConfig):
    name = "yunshu.providers"
    label = "providers"
    verbose_name = _("服务商资源池")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from yunshu.assessments.models import LevelRule, Questionnaire

        from .catalogue import catalogue_scenes_clear

        for model in (Questionnaire, LevelRule):
            post_save.connect(catalogue_scenes_clear, sender=model, dispatch_uid=f"scenes-{model}")
            post_delete.connect(
                catalogue_scenes_clear, sender=model, dispatch_uid=f"scenes-d-{model}"
            )
