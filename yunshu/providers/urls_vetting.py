"""Provider registration and vetting; included in namespace "providers" at /providers/."""

from django.urls import URLPattern, URLResolver, path

from . import views_vetting as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("register/", views.provider_register, name="register"),
    path("apply/", views.provider_apply, name="apply"),
    path("application/", views.application, name="application"),
    path("application/resubmit/", views.application_resubmit, name="application_resubmit"),
    path("profile/edit/", views.profile_edit, name="profile_edit"),
    path("documents/upload/", views.document_upload, name="document_upload"),
    path("documents/<int:pk>/download/", views.document_download, name="document_download"),
    path("documents/<int:pk>/withdraw/", views.document_withdraw, name="document_withdraw"),
    path("certificates/add/", views.certificate_add, name="certificate_add"),
    path("certificates/levels/", views.certificate_levels, name="certificate_levels"),
    path("certificates/<int:pk>/file/", views.certificate_file, name="certificate_file"),
    path("certificates/<int:pk>/review/", views.certificate_review, name="certificate_review"),
    path("vetting/", views.vetting_queue, name="vetting_queue"),
    path("vetting/export.xlsx", views.vetting_export, name="vetting_export"),
    path("vetting/certificates/", views.certificate_queue, name="certificate_queue"),
    path("vetting/<int:pk>/", views.vetting_detail, name="vetting_detail"),
    path("vetting/<int:pk>/transition/", views.vetting_transition, name="vetting_transition"),
    path("vetting/<int:pk>/lead/", views.vetting_lead, name="vetting_lead"),
]
