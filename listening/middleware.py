"""Security headers on every response: a Content-Security-Policy and its companions.

The policy (``LISTENING_CSP``) allows scripts, styles, audio and fetches from this
site only, so injected markup cannot run script or leak data elsewhere. Pages written
with inline ``<style>`` blocks or ``style`` attributes (the Django admin's widgets,
Swagger UI, the researcher's results pages) get ``style-src 'unsafe-inline'`` and
nothing else relaxed: inline *scripts* stay forbidden everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

#: Path prefixes whose pages use inline styles (never inline scripts).
INLINE_STYLE_PREFIXES = ("/admin/", "/api/docs/", "/studies/")


def policy_for(path: str) -> str:
    policy: str = settings.LISTENING_CSP
    if path.startswith(INLINE_STYLE_PREFIXES):
        policy = policy.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
    return policy


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", policy_for(request.path))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        return response
