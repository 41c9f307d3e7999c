from django.contrib import admin

from .models import DataGrant, Enterprise


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ("name", "uscc", "town", "industry", "size_class")
    list_filter = ("size_class", "town")
    search_fields = ("name", "uscc")
    readonly_fields = ("size_class",)


@admin.register(DataGrant)
class DataGrantAdmin(admin.ModelAdmin):
    list_display = ("enterprise", "provider", "source", "expires_at", "revoked_at")
    raw_id_fields = ("enterprise",)
