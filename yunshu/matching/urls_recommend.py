from django.urls import URLPattern, URLResolver, path

from . import views_recommend as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("recommendations/", views.recommendations, name="recommendations"),
    path("recommendations/<int:pk>/", views.recommendations_for, name="recommendations_for"),
    path("runs/", views.runs, name="runs"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
]
