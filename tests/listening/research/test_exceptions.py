"""One error shape: analysis errors and Django validation errors become 400 with their message."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.test import SimpleTestCase
from rest_framework.exceptions import NotFound

from analysis.errors import AlignmentError, SilentAudioError
from listening.research.api.exceptions import exception_handler


class ExceptionHandlerTestCase(SimpleTestCase):
    def test_it_maps_analysis_errors_to_400(self) -> None:
        response = exception_handler(AlignmentError("master does not match its mix", 0.12), {})
        assert response is not None
        assert response.status_code == 400
        assert (
            response.data["detail"]
            == "master does not match its mix (best correlation found: 0.120)"
        )
        response = exception_handler(SilentAudioError("mix.wav is digital silence"), {})
        assert response is not None
        assert response.data["errors"] == {"non_field_errors": ["mix.wav is digital silence"]}

    def test_it_maps_django_validation_errors(self) -> None:
        response = exception_handler(ValidationError({"title": ["Too long."]}), {})
        assert response is not None
        assert response.status_code == 400
        assert response.data["detail"] == "title: Too long."

    def test_it_keeps_other_api_errors_in_the_same_shape(self) -> None:
        response = exception_handler(NotFound(), {})
        assert response is not None
        assert response.status_code == 404
        assert response.data == {"detail": "Not found.", "code": "not_found"}
