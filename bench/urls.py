from django.urls import path

from . import views

urlpatterns = [
    path("trivial/", views.trivial),
    path("plain-list/", views.PlainEnterpriseList.as_view()),
]
