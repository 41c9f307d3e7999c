from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "yunshu.core"
    label = "core"
    verbose_name = _("基础数据")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .models import Cluster, Industry, Town
        from .reference import reference_choices_clear

        for model in (Town, Cluster, Industry):
            post_save.connect(
                reference_choices_clear, sender=model, dispatch_uid=f"choices-{model}"
            )
            post_delete.connect(
                reference_choices_clear, sender=model, dispatch_uid=f"choices-d-{model}"
            )
