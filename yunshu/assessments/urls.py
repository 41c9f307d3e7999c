from django.urls import path

from . import views

app_name = "assessments"
urlpatterns = [
    path("", views.assessment_list, name="list"),
    path("distribution/", views.distribution, name="distribution"),
    path("rules/", views.rules_page, name="rules"),
    path("official/", views.official_page, name="official"),
    path("official/template.xlsx", views.official_template, name="official_template"),
    path("official/sign/", views.official_sign, name="official_sign"),
    path("<int:pk>/evidence/", views.evidence_upload, name="evidence_upload"),
    path("evidence/<int:pk>/", views.evidence_download, name="evidence_download"),
    path("rules/jobs/<int:pk>/", views.rescore_job, name="rescore_job"),
    path("distribution.xlsx", views.distribution_export, name="distribution_export"),
    path("start/<int:enterprise_pk>/", views.assessment_start, name="start"),
    path("<int:pk>/", views.assessment_detail, name="detail"),
    path("<int:pk>/step/<str:step>/", views.assessment_save_step, name="save_step"),
    path("<int:pk>/submit/", views.assessment_submit, name="submit"),
    path("<int:pk>/report.pdf", views.assessment_report_pdf, name="report_pdf"),
    path("<int:pk>/sign/", views.assessment_sign, name="sign"),
    path("<int:pk>/compare/<int:other>/", views.assessment_compare, name="compare"),
]
