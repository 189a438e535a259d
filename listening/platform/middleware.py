"""Security headers on every response: a Content-Security-Policy and its companions, and
``Cache-Control: private, no-store``.

The policy (``LISTENING_CSP``) allows scripts, styles, audio and fetches from this
site only, so injected markup cannot run script or leak data elsewhere. Pages written
with inline ``<style>`` blocks or ``style`` attributes (the Django admin's widgets,
Swagger UI, the researcher's results pages) get ``style-src 'unsafe-inline'`` and
nothing else relaxed: inline *scripts* stay forbidden everywhere.

Every page the application itself answers (participant pages and their JSON, researcher
pages, the API, exports, error pages) is private to one person and changes as they use it:
no shared cache may keep it and no browser may store it on disk (a shared computer would
give the next user a participant's session page or a researcher's export). A view that
sets its own Cache-Control keeps it (participant audio sets the same, deliberately).
Static files never reach this middleware: whitenoise answers them first, with long-lived
caching of their hashed names.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBadRequest, HttpResponseBase

#: Path prefixes whose pages use inline styles (never inline scripts).
INLINE_STYLE_PREFIXES = ("/admin/", "/api/docs/", "/studies/")


def policy_for(path: str) -> str:
    policy: str = settings.LISTENING_CSP
    if path.startswith(INLINE_STYLE_PREFIXES):
        policy = policy.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
    return policy


class DefaultHeadersMiddleware:
    """Give every response the headers of :meth:`headers` that its view did not set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        for name, value in self.headers(request).items():
            response.headers.setdefault(name, value)
        return response

    def headers(self, request: HttpRequest) -> dict[str, str]:
        raise NotImplementedError


class ContentSecurityPolicyMiddleware(DefaultHeadersMiddleware):
    def headers(self, request: HttpRequest) -> dict[str, str]:
        return {
            "Content-Security-Policy": policy_for(request.path),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        }


class PrivateCacheMiddleware(DefaultHeadersMiddleware):
    """Mark every response the application answers ``Cache-Control: private, no-store``."""

    def headers(self, request: HttpRequest) -> dict[str, str]:
        return {"Cache-Control": "private, no-store"}


class NulCharacterMiddleware:
    """Answer 400 to a URL with a NUL character in its path or query string.

    No URL of the project has a use for one, and PostgreSQL refuses NUL in any text it
    is given: a token, a filter or a search holding one answered 500 there.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        query = request.GET
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in query.lists()
        ):
            return HttpResponseBadRequest("A URL cannot hold a NUL character.")
        return self.get_response(request)
