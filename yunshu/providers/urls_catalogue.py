from django.urls import path

from . import views_catalogue as views

app_name = "catalogue"
urlpatterns = [
    path("", views.catalogue_list, name="list"),
    path("<int:pk>/", views.product_detail, name="detail"),
    path("compare/", views.compare_page, name="compare"),
    path("compare/toggle/", views.compare_toggle, name="compare_toggle"),
    path("compare/clear/", views.compare_clear, name="compare_clear"),
    path("providers/<int:pk>/", views.provider_profile, name="provider"),
    path("export.xlsx", views.catalogue_export, name="export"),
    path("mine/", views.my_products, name="mine"),
    path("mine/new/", views.product_create, name="product_create"),
    path("mine/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("mine/<int:pk>/publish/", views.product_publish, name="product_publish"),
    path("mine/<int:pk>/withdraw/", views.product_withdraw, name="product_withdraw"),
]
