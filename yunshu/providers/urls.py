from .urls_supervision import urlpatterns as supervision_urls
from .urls_vetting import urlpatterns as vetting_urls

app_name = "providers"
urlpatterns = [*vetting_urls, *supervision_urls]
