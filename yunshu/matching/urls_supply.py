from django.urls import URLPattern, URLResolver, path

from . import views_supply as v

urlpatterns: list[URLPattern | URLResolver] = [
    path("supply/", v.supply_heatmap, name="supply_heatmap"),
    path("supply/cell/", v.supply_cell, name="supply_cell"),
    path("supply/export.xlsx", v.supply_export, name="supply_export"),
    path("events/", v.event_list, name="event_list"),
    path("events/export.xlsx", v.event_export, name="event_export"),
    path("events/new/", v.event_create, name="event_create"),
    path("events/<int:pk>/", v.event_detail, name="event_detail"),
    path("events/<int:pk>/edit/", v.event_edit, name="event_edit"),
    path("events/<int:pk>/transition/", v.event_transition, name="event_transition"),
    path("events/<int:pk>/invite/", v.event_invite, name="event_invite"),
    path("events/<int:pk>/offline.xlsx", v.event_offline_export, name="event_offline_export"),
    path("events/<int:pk>/register/", v.event_register, name="event_register"),
    path("events/<int:pk>/decline/", v.event_decline, name="event_decline"),
    path("events/<int:pk>/attendance/", v.event_attendance, name="event_attendance"),
    path("events/<int:pk>/outcomes/", v.event_outcome, name="event_outcome"),
    path(
        "events/<int:pk>/outcomes/<int:outcome_pk>/delete/",
        v.event_outcome_delete,
        name="event_outcome_delete",
    ),
]
