from django.urls import URLPattern, URLResolver, path

from . import views_consent as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("share/", views.share, name="share"),
    path("share/providers/", views.share_providers, name="share_providers"),
    path("share/<int:pk>/revoke/", views.share_revoke, name="share_revoke"),
    path("share/log/", views.access_log, name="access_log"),
    path("inbox/", views.inbox, name="inbox"),
    path("diagnoses/<int:enterprise_pk>/", views.diagnosis_assign, name="diagnosis_assign"),
    path(
        "diagnoses/<int:enterprise_pk>/<int:pk>/revoke/",
        views.diagnosis_revoke,
        name="diagnosis_revoke",
    ),
    path("proposals/", views.proposal_list, name="proposals"),
    path("proposals/new/<int:enterprise_pk>/", views.proposal_new, name="proposal_new"),
    path("proposals/<int:pk>/", views.proposal_detail, name="proposal"),
    path(
        "proposals/<int:pk>/<slug:action>/",
        views.proposal_transition,
        name="proposal_transition",
    ),
    path("ratings/", views.rating_list, name="ratings"),
    path("ratings/<int:proposal_pk>/", views.rate, name="rate"),
]
