"""Password logins that stop answering after too many failures (workspace and admin sign-in
forms, API Basic auth).

The check runs before the password is tried, so once the limit is reached even the
right password is refused until the window has passed: a guesser learns nothing.
Failures are counted by the ``user_login_failed`` receiver in :mod:`listening.platform.throttling`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from drf_spectacular.authentication import BasicScheme
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication

from listening.platform.throttling import client_address, login_throttle


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form (the workspace's sign-in), refusing a username+address that
    failed too often."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        if self.request is not None:
            wait = login_throttle.wait(username, client_address(self.request))
            if wait > 0:
                raise ValidationError(login_throttle.message(wait), code="throttled")
        return super().clean()


class ThrottledAdminAuthenticationForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    """The admin's login form, with the same limit."""


class ThrottledBasicAuthentication(BasicAuthentication):
    """HTTP Basic auth answering 429 (with Retry-After) after too many failures."""

    def authenticate_credentials(
        self, userid: str, password: str, request: Any = None
    ) -> tuple[Any, None]:
        if "\x00" in userid or "\x00" in password:  # PostgreSQL cannot even look it up
            raise exceptions.AuthenticationFailed("Invalid username/password.")
        if request is not None:
            address = client_address(request)
            wait = login_throttle.wait(userid, address)
            if wait > 0:
                raise exceptions.Throttled(wait=wait, detail=login_throttle.message(wait))
        user, auth = super().authenticate_credentials(userid, password, request)
        if request is not None:
            login_throttle.succeeded(userid, address)
        return user, auth


class ThrottledBasicScheme(BasicScheme):  # type: ignore[no-untyped-call]
    """Describe the throttled Basic auth in the OpenAPI schema as plain HTTP Basic."""

    target_class = "listening.platform.authentication.ThrottledBasicAuthentication"
