"""Django admin for superusers' data maintenance (officers work in the app's own pages)."""

from typing import Any

from django.contrib import admin

from .catalogue_version import catalogue_bump
from .models import (
    AnnualReview,
    CatalogueVersion,
    Certificate,
    CertificateType,
    Complaint,
    ComplaintEvent,
    Incident,
    Platform,
    Product,
    ProductScene,
    Provider,
    ProviderDocument,
    VettingEvent,
)


class BumpsCatalogue(admin.ModelAdmin):  # type: ignore[type-arg]
    """A superuser's edit here changes what the catalogue and matching show, as the services'
    writes do: the catalogue version moves, so every process reads it afresh."""

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # after the object, inlines, m2m
        catalogue_bump()

    def delete_model(self, request: Any, obj: Any) -> None:
        super().delete_model(request, obj)
        catalogue_bump()

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        super().delete_queryset(request, queryset)
        catalogue_bump()


class VettingEventInline(admin.TabularInline):
    model = VettingEvent
    extra = 0
    fields = ("at", "action", "from_state", "to_state", "reason", "changes", "by")
    readonly_fields = fields
    can_delete = False


@admin.register(Provider)
class ProviderAdmin(BumpsCatalogue):
    list_display = ("name", "uscc", "vetting_state", "trust_grade", "submitted_at", "approved_at")
    list_filter = ("vetting_state", "trust_grade")
    search_fields = ("name", "uscc")
    raw_id_fields = ("organisation",)
    filter_horizontal = ("towns_served", "clusters_served")
    inlines = [VettingEventInline]


@admin.register(VettingEvent)
class VettingEventAdmin(admin.ModelAdmin):
    list_display = ("provider", "action", "from_state", "to_state", "by", "at")
    list_filter = ("action", "to_state")
    raw_id_fields = ("provider", "by")


@admin.register(ProviderDocument)
class ProviderDocumentAdmin(admin.ModelAdmin):
    list_display = ("original_name", "provider", "kind", "size", "uploaded_at")
    list_filter = ("kind",)
    search_fields = ("original_name", "provider__name", "sha256")
    raw_id_fields = ("provider", "uploaded_by")


@admin.register(CertificateType)
class CertificateTypeAdmin(admin.ModelAdmin):
    list_display = (
        "key",
        "name_zh",
        "mandatory",
        "has_level",
        "levels",
        "trust_points",
        "level_points",
        "sort_order",
    )
    list_editable = ("mandatory", "trust_points", "sort_order")


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = ("provider", "type", "level", "number", "expires_on", "status")
    list_filter = ("status", "type")
    search_fields = ("number", "provider__name")
    raw_id_fields = ("provider", "reviewed_by")
    date_hierarchy = "expires_on"


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin):
    list_display = ("name", "provider", "datacentre_location", "datacentre_mainland", "verified_at")
    search_fields = ("name", "provider__name")
    raw_id_fields = ("provider", "verified_by")


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("summary", "platform", "severity", "source", "occurred_at", "resolved_at")
    list_filter = ("severity", "source")
    raw_id_fields = ("platform", "reported_by", "proposed_by")


@admin.register(AnnualReview)
class AnnualReviewAdmin(admin.ModelAdmin):
    list_display = ("provider", "year", "verdict", "deadline", "provider_suspended")
    list_filter = ("year", "verdict")
    raw_id_fields = ("provider", "reviewed_by")


class ProductSceneInline(admin.TabularInline):
    model = ProductScene
    extra = 0


@admin.register(Product)
class ProductAdmin(BumpsCatalogue):
    list_display = ("name", "provider", "status", "visibility", "deployment", "updated_at")
    list_filter = ("status", "visibility", "deployment")
    search_fields = ("name", "provider__name")
    raw_id_fields = ("provider", "platform")
    filter_horizontal = ("industries", "clusters")
    inlines = [ProductSceneInline]


@admin.register(CatalogueVersion)
class CatalogueVersionAdmin(admin.ModelAdmin):
    list_display = ("number", "changed_at")


class ComplaintEventInline(admin.TabularInline):
    model = ComplaintEvent
    extra = 0
    fields = ("at", "action", "from_state", "to_state", "text", "by")
    readonly_fields = fields
    can_delete = False


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    list_display = ("subject", "enterprise", "provider", "state", "created_at")
    list_filter = ("state",)
    search_fields = ("subject", "enterprise__name", "provider__name")
    raw_id_fields = ("enterprise", "provider", "product", "created_by")
    inlines = [ComplaintEventInline]
