"""POST data of the study builder, as the browser sends it without JavaScript."""

from __future__ import annotations

from typing import Any


def builder_data(
    attributes: list[str] | None = None,
    questions: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A complete, valid builder post; ``fields`` override the study fields."""
    data: dict[str, Any] = {
        "title": "Mastering study",
        "description": "",
        "public_title": "A listening study",
        "public_description": "Rate short excerpts.",
        "paradigm": "mushra",
        "reference_mode": "none",
        "anchors": "on",
        "loudness_target_lufs": "-23",
        "true_peak_ceiling_dbtp": "-1",
        "sample_rate": "48000",
        "excerpt_start": "30",
        "excerpt_length": "10",
        "fade_ms": "20",
        "must_play_all": "on",
        "must_move_all": "on",
        "require_100": "on",
        "min_listen_seconds": "1",
        "screening_tests": ["antiphase", "huggins"],
        "screening_trials_per_test": "6",
        "screening_pass_mark": "5",
        "screening_attempts": "2",
        "consent_text": "I agree.",
        "instructions": "Listen carefully.",
        "completion_code": "",
        "redirect_url": "",
    }
    attributes = ["overall quality", "clarity"] if attributes is None else attributes
    data.update(formset("attributes", [{"name": a} for a in attributes]))
    data.update(formset("questions", questions or []))
    for key, value in fields.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def formset(prefix: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A formset's management form and rows, ORDER by position unless a row gives it."""
    data: dict[str, Any] = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        values = {"ORDER": str(i + 1), **row}
        if prefix == "questions":
            values = {"type": "text", "when": "start", "required": "on", **values}
        for key, value in values.items():
            if value is not None:
                data[f"{prefix}-{i}-{key}"] = value
    return data
