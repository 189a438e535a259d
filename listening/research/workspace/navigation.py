"""The tabs of a study's workspace pages, in the order a study is built and run."""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

#: (label, URL name) of each tab; each area's routes module defines its names.
STUDY_TABS: list[tuple[str, str]] = [
    ("Overview", "workspace:study"),
    ("Settings", "workspace:settings"),
    ("Audio", "workspace:audio"),
    ("Preview", "workspace:preview"),
    ("Launch", "workspace:launch"),
    ("Dashboard", "workspace:monitor"),
]


def study_tabs(study_pk: int, current: str) -> list[dict[str, Any]]:
    """The tabs of study ``study_pk`` with their URLs, ``current`` (a URL name) marked."""
    tabs = []
    for label, name in STUDY_TABS:
        try:
            url = reverse(name, args=[study_pk])
        except NoReverseMatch:  # an area not installed
            continue
        tabs.append({"label": label, "url": url, "current": name == current})
    return tabs
