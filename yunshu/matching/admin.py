"""Django admin for superusers' data maintenance only; officers work in the app's own pages."""

from __future__ import annotations

from django.contrib import admin

from .models import (
    EventInvitation,
    EventOutcome,
    MatchmakingEvent,
    MatchRun,
    Proposal,
    Rating,
    Recommendation,
)


@admin.register(MatchRun)
class MatchRunAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "created_at", "enterprises_done", "enterprises_total", "rows")
    list_filter = ("status",)
    readonly_fields = ("created_by",)


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    list_display = ("run", "enterprise", "rank", "product", "provider", "score")
    list_filter = ("run",)
    raw_id_fields = ("run", "enterprise", "product", "provider")


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ("title", "provider", "enterprise", "state", "price_yuan", "created_at")
    list_filter = ("state",)
    search_fields = ("title", "provider__name", "enterprise__name")
    raw_id_fields = ("provider", "enterprise", "product", "created_by")


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ("proposal", "provider", "enterprise", "stars", "created_at")
    list_filter = ("stars",)
    raw_id_fields = ("proposal", "provider", "enterprise", "created_by")


class EventInvitationInline(admin.TabularInline):
    model = EventInvitation
    raw_id_fields = ("organisation",)
    extra = 0


@admin.register(MatchmakingEvent)
class MatchmakingEventAdmin(admin.ModelAdmin):
    list_display = ("title", "cluster", "starts_at", "state", "capacity")
    list_filter = ("state", "cluster")
    inlines = [EventInvitationInline]


@admin.register(EventOutcome)
class EventOutcomeAdmin(admin.ModelAdmin):
    list_display = ("event", "enterprise", "provider", "kind", "amount_yuan")
    list_filter = ("kind",)
    raw_id_fields = ("event", "enterprise", "provider", "recorded_by")
