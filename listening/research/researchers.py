"""Who is a researcher: the one rule behind the API, the admin, the results pages and commands.

Researcher rights are the permission ``listening.conduct_research`` ("Can create and run
studies"). Migration 0007 creates it with the **Researchers** group that holds it; an
account gets the rights by joining that group (the admin's user page, or
:func:`grant_researcher`), or by being given the permission directly. Superusers have
every right. Being logged in is not enough, and neither is staff status: staff status
only opens the admin's door, and the admin then asks this same predicate.

Which *studies* a researcher reaches is the next rule: their own and those shared with
them (``Study.objects.for_user``), which also returns nothing for a non-researcher, so
a collaborator who loses the rights loses the shared studies too.

Use :func:`is_researcher` for a yes/no, :func:`researcher_required` on server-rendered
views, and ``listening.research.api.permissions.IsResearcher`` in the API.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from listening.models.rights import PERMISSION, is_researcher

if TYPE_CHECKING:
    pass

#: The group that holds it (created by migration 0007).
GROUP = "Researchers"


def researcher_users() -> QuerySet[Any]:
    """Every active account with researcher rights (e.g. whom a study may be shared with)."""
    app_label, codename = PERMISSION.split(".")
    perm = Q(content_type__app_label=app_label, codename=codename)
    from django.contrib.auth.models import Permission

    granted = Permission.objects.filter(perm)
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(groups__permissions__in=granted)
            | Q(user_permissions__in=granted)
        )
        .distinct()
    )


#: What Django's usernames may hold (its UnicodeUsernameValidator).
USERNAME = re.compile(r"[\w.@+-]{1,150}")
#: The one answer for a collaborator name that is not a researcher's, whether or not an
#: account by that name exists (researcher forms must not tell who has an account).
NOT_A_COLLABORATOR = "No researcher account {name!r} can be added."


def find_collaborators(names: list[str]) -> tuple[list[Any], list[str]]:
    """Return the researchers named exactly by ``names``, and the names that name none."""
    # A name no account can have is looked up nowhere (PostgreSQL refuses a NUL in a query).
    valid = [n for n in names if USERNAME.fullmatch(n)]
    found = {u.get_username(): u for u in researcher_users().filter(username__in=valid)}
    return [found[n] for n in names if n in found], [n for n in names if n not in found]


def researchers_group() -> Any:
    """The Researchers group with its permission (made here too if a database lacks it)."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    app_label, codename = PERMISSION.split(".")
    content_type = ContentType.objects.get_by_natural_key(app_label, "study")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename=codename,
        defaults={"name": "Can create and run studies"},
    )
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(permission)
    return group


def grant_researcher(user: Any) -> None:
    """Give ``user`` researcher rights by adding them to the Researchers group."""
    user.groups.add(researchers_group())
    # Django caches permissions on the instance: forget them so the change shows at once.
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)


def revoke_researcher(user: Any) -> None:
    """Take the rights given by the group away (a direct permission stays: remove it too)."""
    from django.contrib.auth.models import Group

    user.groups.remove(*Group.objects.filter(name=GROUP))
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)


def researcher_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send anonymous visitors to the login page and refuse (403) accounts without rights."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_researcher(request.user):
            raise PermissionDenied("This account has no researcher rights.")
        return view(request, *args, **kwargs)

    return wrapper
