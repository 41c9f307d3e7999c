from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvidersConfig(AppConfig):
    name = "yunshu.providers"
    label = "providers"
    verbose_name = _("服务商资源池")
