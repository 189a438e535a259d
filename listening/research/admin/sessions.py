"""Participants' sessions in the admin: read-only, without their tokens."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from listening.models import Session
from listening.research.admin.scoping import StudyScopedAdmin


@admin.register(Session)
class SessionAdmin(StudyScopedAdmin):
    list_display = (
        "pk",
        "study",
        "state",
        "prolific_pid",
        "simulated",
        "started_at",
        "completed_at",
    )
    list_filter = ("state", "simulated", ("study", admin.RelatedOnlyFieldListFilter))
    readonly_fields = tuple(f.name for f in Session._meta.fields if f.name != "token")
    exclude = ("token",)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
