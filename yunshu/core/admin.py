from django.contrib import admin

from .models import AuditEntry, Cluster, Industry, Town


@admin.register(Town)
class TownAdmin(admin.ModelAdmin):
    list_display = ("name_zh", "name_en", "kind", "sort_order")
    list_editable = ("sort_order",)


@admin.register(Industry)
class IndustryAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en")


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ("key", "name_zh", "name_en", "sort_order")
    filter_horizontal = ("industries", "towns_known_for")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only, even for superusers."""

    list_display = ("seq", "at", "actor_label", "action", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("object_id", "actor_label")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
