from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnterprisesConfig(AppConfig):
    name = "yunshu.enterprises"
    label = "enterprises"
    verbose_name = _("企业库")

    def ready(self) -> None:
        from yunshu.core.versions import track

        from .models import Enterprise

        track(Enterprise, "enterprises")
