"""Export endpoints of the researcher API: tidy tables, webMUSHRA CSV and the results bundle.

The responses stream (tables) or send a temporary file (bundle); the tables are built
by :mod:`listening.research.exports`. Errors keep the API's JSON shape.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpResponseBase
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, renderer_classes
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from listening.research.api.permissions import get_study_for_user
from listening.research.exports import ROW_BUILDERS, bundle_response, streaming_response


class FileRenderer(BaseRenderer):
    """Accept file media types in negotiation; errors still render as JSON text."""

    charset = None

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        return json.dumps(data).encode() if data is not None else b""


class CsvRenderer(FileRenderer):
    media_type = "text/csv"
    format = "csv"


class JsonLinesRenderer(FileRenderer):
    media_type = "application/x-ndjson"
    format = "jsonl"


class ZipRenderer(FileRenderer):
    media_type = "application/zip"
    format = "zip"


TABLE_DOC = "`ratings`, `abx`, `preferences`, `stimuli` or `sessions`; CSV also `webmushra`."


def _table(table: str, fmt: str) -> str:
    if table in ROW_BUILDERS or (table == "webmushra" and fmt == "csv"):
        return table
    raise Http404(f"no export called {table}.{fmt}")


@extend_schema(
    summary="Export one table as CSV (streamed)",
    description=TABLE_DOC,
    responses={(200, "text/csv"): OpenApiTypes.BINARY},
)
@api_view(["GET"])
@renderer_classes([JSONRenderer, CsvRenderer])
def export_csv(request: Request, pk: int, table: str) -> HttpResponseBase:
    study = get_study_for_user(request, pk)
    return streaming_response(study, _table(table, "csv"), "csv")


@extend_schema(
    summary="Export one table as JSON Lines (streamed)",
    description=TABLE_DOC,
    responses={(200, "application/x-ndjson"): OpenApiTypes.BINARY},
)
@api_view(["GET"])
@renderer_classes([JSONRenderer, JsonLinesRenderer])
def export_jsonl(request: Request, pk: int, table: str) -> HttpResponseBase:
    study = get_study_for_user(request, pk)
    return streaming_response(study, _table(table, "jsonl"), "jsonl")


@extend_schema(
    summary="Download the results bundle (zip: tables, report, README)",
    responses={(200, "application/zip"): OpenApiTypes.BINARY},
)
@api_view(["GET"])
@renderer_classes([JSONRenderer, ZipRenderer])
def export_bundle(request: Request, pk: int) -> HttpResponseBase:
    return bundle_response(get_study_for_user(request, pk))


urlpatterns = [
    path("studies/<int:pk>/exports/bundle.zip", export_bundle, name="export-bundle"),
    path("studies/<int:pk>/exports/<slug:table>.csv", export_csv, name="export-csv"),
    path("studies/<int:pk>/exports/<slug:table>.jsonl", export_jsonl, name="export-jsonl"),
]
