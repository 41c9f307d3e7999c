from .urls_consent import urlpatterns as consent_urls
from .urls_recommend import urlpatterns as recommend_urls
from .urls_supply import urlpatterns as supply_urls

app_name = "matching"
urlpatterns = [*recommend_urls, *consent_urls, *supply_urls]
