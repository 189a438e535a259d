"""POST data of the study builder, as the browser sends it without JavaScript."""

from __future__ import annotations

from html.parser import HTMLParser
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
        "playback_bit_depth": "24",
        "trials_per_participant": "",
        "balancing": "balanced",
        "abx_repetitions": "4",
        "ab_allow_no_preference": "on",
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


class _FormReader(HTMLParser):
    """The data a browser would post from the first form with a submit button."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.data: list[tuple[str, str]] = []
        self.in_template = 0
        self.select: str | None = None
        self.option: str | None = None
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "template":
            self.in_template += 1
        if self.in_template or "disabled" in a:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.data.append((a["name"], a.get("value", "on")))
            elif kind != "submit":
                self.data.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select = a.get("name")
        elif tag == "option" and self.select and "selected" in a:
            self.data.append((self.select, a.get("value", "")))
        elif tag == "textarea":
            self.textarea, self.text = a.get("name"), ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self.in_template -= 1
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea:
            self.data.append((self.textarea, self.text.removeprefix("\n")))
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.text += data


def form_data(html: str) -> dict[str, Any]:
    """What the builder page would post unchanged (lists for repeated names)."""
    reader = _FormReader()
    reader.feed(html)
    data: dict[str, Any] = {}
    for name, value in reader.data:
        if name in data:
            data[name] = [*(data[name] if isinstance(data[name], list) else [data[name]]), value]
        else:
            data[name] = value
    return data
