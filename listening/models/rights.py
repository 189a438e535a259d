"""Who is a researcher, as one predicate (the rest of the rights: listening.research.researchers).

Here, with the models, because ``Study.objects.for_user`` asks it; everything else that
decides who may do what asks :func:`is_researcher` too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

#: The permission (app label and codename) that makes an account a researcher.
PERMISSION = "listening.conduct_research"


def is_researcher(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Tell whether ``user`` may create and run studies (active, with the permission)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    # has_perm is True for active superusers and caches the permissions on the instance.
    return bool(user.has_perm(PERMISSION))  # type: ignore[attr-defined]
