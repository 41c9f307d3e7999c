"""Supervision, annual review and complaints; included in namespace "providers" at /providers/."""

from django.urls import URLPattern, URLResolver, path

from . import views_supervision as v

urlpatterns: list[URLPattern | URLResolver] = [
    path("supervision/", v.supervision_overview, name="supervision"),
    path("supervision/export.xlsx", v.supervision_export, name="supervision_export"),
    path("supervision/<int:pk>/", v.supervision_provider, name="supervision_provider"),
    path("platforms/", v.platform_list, name="platform_list"),
    path("platforms/new/", v.platform_create, name="platform_create"),
    path("platforms/<int:pk>/", v.platform_detail, name="platform_detail"),
    path("platforms/<int:pk>/edit/", v.platform_edit, name="platform_edit"),
    path("platforms/<int:pk>/verify/", v.platform_verify, name="platform_verify"),
    path("platforms/<int:pk>/incidents/new/", v.incident_create, name="incident_create"),
    path("incidents/", v.incident_list, name="incident_list"),
    path("incidents/export.xlsx", v.incident_export, name="incident_export"),
    path("incidents/<int:pk>/", v.incident_detail, name="incident_detail"),
    path("incidents/<int:pk>/resolve/", v.incident_resolve, name="incident_resolve"),
    path("incidents/<int:pk>/propose/", v.incident_propose, name="incident_propose"),
    path("reviews/", v.review_list, name="review_list"),
    path("reviews/export/", v.review_export, name="review_export"),
    path("reviews/open/<int:provider_pk>/<int:year>/", v.review_open, name="review_open"),
    path("reviews/<int:pk>/", v.review_detail, name="review_detail"),
    path("complaints/", v.complaint_list, name="complaint_list"),
    path("complaints/new/", v.complaint_create, name="complaint_create"),
    path("complaints/products/", v.complaint_products, name="complaint_products"),
    path("complaints/export/", v.complaint_export, name="complaint_export"),
    path("complaints/<int:pk>/", v.complaint_detail, name="complaint_detail"),
    path("complaints/<int:pk>/act/", v.complaint_act, name="complaint_act"),
]
