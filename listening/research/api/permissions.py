"""Who may do what with a study: researchers only; owners and collaborators; everyone else 404.

Every view of the API needs researcher rights (:class:`IsResearcher`, the default
permission class, asks :func:`listening.models.rights.is_researcher`); within them, a
study is reached only by its owner and collaborators, and anything else is 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import permissions
from rest_framework.request import Request

from listening.models import Stimulus, Study, Track
from listening.models.rights import is_researcher

# Primary keys are 64-bit: a larger number names no row (and would overflow the database).
MAX_ID = 2**63 - 1


def object_id(value: Any) -> int:
    """Return an id from a URL or query string, or raise Http404 if it cannot name a row."""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
        raise Http404(f"no object with id {text[:40]!r}")
    return int(text)


def get_study_for_user(request: Request, pk: Any) -> Study:
    """Return a study the user owns or collaborates on, or raise Http404 (never 403)."""
    return get_object_or_404(Study.objects.for_user(request.user), pk=object_id(pk))


def tracks_for_user(request: Request) -> QuerySet[Track]:
    return Track.objects.filter(study__in=Study.objects.for_user(request.user))


def stimuli_for_user(request: Request) -> QuerySet[Stimulus]:
    return Stimulus.objects.filter(track__study__in=Study.objects.for_user(request.user))


class IsResearcher(permissions.BasePermission):
    """Only accounts with researcher rights use the researcher API (not any logged-in user)."""

    message = "This account has no researcher rights."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_researcher(request.user)


class IsOwnerToDelete(permissions.BasePermission):
    """Collaborators may read and change a study; only its owner may delete it."""

    message = "Only the study's owner may delete it."

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method != "DELETE":
            return True
        study = obj if isinstance(obj, Study) else None
        return study is None or study.owner_id == request.user.pk
