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
    path("", include("yunshu.core.urls")),
]
