from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from yunshu.providers.admin import BumpsCatalogue

from .models import Invitation, Organisation, User


@admin.register(Organisation)
class OrganisationAdmin(BumpsCatalogue):  # the lead-provider flag shows in the catalogue
    list_display = ("name", "kind", "town", "is_lead_provider", "is_active")
    list_filter = ("kind", "is_active", "is_lead_provider")
    search_fields = ("name", "uscc")
    raw_id_fields = ("enterprise",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Yunshu", {"fields": ("organisation", "display_name", "phone", "is_org_admin")}),
    )
    list_display = ("username", "display_name", "organisation", "is_org_admin", "is_active")
    list_filter = ("organisation__kind", "is_active")


admin.site.register(Invitation)
