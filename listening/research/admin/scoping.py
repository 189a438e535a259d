"""Per-researcher scoping: staff researchers see only the objects of their own studies.

The admin needs staff status (Django's door to it) and researcher rights
(:func:`listening.models.rights.is_researcher`, the same rule as the API and the results
pages). Researchers who are not superusers see only the studies they own or collaborate
on, and the tracks, stimuli and sessions of those studies; everything else is 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from listening.models import Stimulus, Study, Track
from listening.models.rights import is_researcher


def visible_studies(request: HttpRequest) -> QuerySet[Study]:
    if request.user.is_superuser:
        return Study.objects.all()
    return Study.objects.for_user(request.user)


class StudyScopedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Give staff researchers their own studies' objects without per-model permissions."""

    study_path = "study"

    def scoped(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.study_path}__in": visible_studies(request)})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.scoped(request, super().get_queryset(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_staff and is_researcher(request.user))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "study":
            kwargs["queryset"] = visible_studies(request)
        elif db_field.name == "track":
            kwargs["queryset"] = Track.objects.filter(study__in=visible_studies(request))
        elif db_field.related_model is Stimulus:
            # e.g. a track's reference master: never list another researcher's files.
            stimuli = Stimulus.objects.filter(track__study__in=visible_studies(request))
            if db_field.name == "reference_master":
                stimuli = stimuli.filter(role=Stimulus.Role.MASTER)
            kwargs["queryset"] = stimuli.select_related("track")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
