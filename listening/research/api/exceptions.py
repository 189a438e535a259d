"""One error shape for the whole API: ``{"detail": str, "code": str, "errors": {...}}``.

``errors`` is present for validation errors and maps each field (or ``non_field_errors``)
to its messages. Analysis errors and Django ValidationErrors become 400 with their message.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from analysis.errors import AnalysisError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, AnalysisError):
        exc = exceptions.ValidationError({"non_field_errors": [str(exc)]}, code="invalid_audio")
    elif isinstance(exc, DjangoValidationError):
        messages: dict[str, Any] = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(messages)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        detail: Any = exc.detail
        errors = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = {
            "detail": _summary(errors),
            "code": "invalid",
            "errors": errors,
        }
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        codes = exc.get_codes()
        response.data = {
            "detail": str(exc.detail),
            "code": codes if isinstance(codes, str) else "error",
        }
    return response


def _summary(errors: Any) -> str:
    """Flatten validation errors to one readable line, fields first."""
    parts = []
    for field, messages in errors.items():
        items = messages if isinstance(messages, list) else [messages]
        text = "; ".join(str(m) if not isinstance(m, dict) else _summary(m) for m in items)
        parts.append(text if field == "non_field_errors" else f"{field}: {text}")
    return " | ".join(parts)
