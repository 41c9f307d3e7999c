import os

from django.contrib import admin
from django.urls import include, path

from yunshu.accounts.urls import auth_patterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include(auth_patterns)),
    path("accounts/", include("yunshu.accounts.urls")),
    path("enterprises/", include("yunshu.enterprises.urls")),
    path("assessments/", include("yunshu.assessments.urls")),
    path("providers/", include("yunshu.providers.urls")),
    path("catalogue/", include("yunshu.providers.urls_catalogue")),
    path("matching/", include("yunshu.matching.urls")),
    path("", include("yunshu.core.urls")),
]

# The http benchmark's baselines (bench/views.py), served only when the suite asks for them.
if os.environ.get("YUNSHU_BENCH_VIEWS") == "1":
    urlpatterns.insert(0, path("_bench/", include("bench.urls")))
