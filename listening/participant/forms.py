"""Participant forms: consent, the questionnaires, calibration and the headphone screening.

Questionnaire fields come from ``Study.questionnaire``, a list of objects such as
``{"name": "age", "label": gettext_noop("Age range"), "type": "choice", "choices": ["18-24", ...]}``
(types: choice, text, textarea, integer, boolean; ``"required"`` defaults to true;
``"when": "final"`` puts a field in the questionnaire after the trials). A study
without fields of a kind gets the defaults below, whose labels and choices are translated
into the participant's language (the stored answer stays the English choice, so answers
compare across languages); a researcher's own fields are shown as written.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

AGE_RANGES = [
    "18-24",
    "25-34",
    "35-44",
    "45-54",
    "55-64",
    gettext_noop("65 or older"),
    gettext_noop("Prefer not to say"),
]
EXPERIENCE = [
    gettext_noop("I rarely listen closely to music"),
    gettext_noop("I listen to music attentively (hobby)"),
    gettext_noop("I play or produce music"),
    gettext_noop("I work with audio professionally (recording, mixing, mastering)"),
]
DEFAULT_QUESTIONNAIRE: list[dict[str, Any]] = [
    {
        "name": "age_range",
        "label": gettext_noop("Age range"),
        "type": "choice",
        "choices": AGE_RANGES,
    },
    {
        "name": "listening_experience",
        "label": gettext_noop("Listening experience"),
        "type": "choice",
        "choices": EXPERIENCE,
    },
    {
        "name": "headphone_model",
        "label": gettext_noop("Which headphones are you using? (make and model, or 'unknown')"),
        "type": "text",
    },
    {
        "name": "hearing_problems",
        "label": gettext_noop("Do you have any known hearing problems?"),
        "type": "choice",
        "choices": [gettext_noop("No"), gettext_noop("Yes"), gettext_noop("Prefer not to say")],
    },
]
DEFAULT_FINAL_QUESTIONNAIRE: list[dict[str, Any]] = [
    {
        "name": "same_volume",
        "label": gettext_noop("Did you keep the volume you set at the start?"),
        "type": "choice",
        "choices": [gettext_noop("Yes"), gettext_noop("No"), gettext_noop("Not sure")],
    },
    {
        "name": "comments",
        "label": gettext_noop("Anything you would like to tell us? (optional)"),
        "type": "textarea",
        "required": False,
    },
]


class ConsentForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("agree", _("I agree")), ("decline", _("I do not agree"))]
    )

    @property
    def agreed(self) -> bool:
        return bool(self.cleaned_data["decision"] == "agree")


def questionnaire_fields(spec: Any, when: str) -> list[dict[str, Any]]:
    """The study's fields for ``when`` ("start" or "final"), or the defaults."""
    fields = [
        f
        for f in (spec if isinstance(spec, list) else [])
        if isinstance(f, dict) and f.get("name") and f.get("when", "start") == when
    ]
    if fields:
        return fields
    return DEFAULT_FINAL_QUESTIONNAIRE if when == "final" else DEFAULT_QUESTIONNAIRE


def _field(spec: dict[str, Any], *, builtin: bool = False) -> forms.Field:
    """One form field; ``builtin`` (the defaults) shows its texts in the active language."""
    shown = gettext if builtin else str
    kind = spec.get("type", "text")
    options: dict[str, Any] = {
        "label": shown(str(spec.get("label") or spec["name"])),
        "required": bool(spec.get("required", True)),
        "help_text": shown(str(spec.get("help", ""))) if spec.get("help") else "",
    }
    if kind == "choice":
        choices = [(str(c), shown(str(c))) for c in spec.get("choices", [])]
        return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **options)
    if kind == "integer":
        # The schema (listening.models.study_settings) admits whole numbers only; a bound stored
        # past it (an older version) is ignored rather than failing the participant's page.
        low, high = (
            value if isinstance(value, int) and not isinstance(value, bool) else None
            for value in (spec.get("min"), spec.get("max"))
        )
        return forms.IntegerField(min_value=low, max_value=high, **options)
    if kind == "boolean":
        return forms.TypedChoiceField(
            choices=[("yes", _("Yes")), ("no", _("No"))],
            coerce=lambda v: v == "yes",
            widget=forms.RadioSelect,
            **options,
        )
    if kind == "textarea":
        return forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 4}), **options)
    return forms.CharField(max_length=200, **options)


class QuestionnaireForm(forms.Form):
    """A form built from the study's questionnaire fields."""

    def __init__(self, spec: Any, when: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields = questionnaire_fields(spec, when)
        builtin = fields in (DEFAULT_QUESTIONNAIRE, DEFAULT_FINAL_QUESTIONNAIRE)
        for field in fields:
            self.fields[str(field["name"])] = _field(field, builtin=builtin)


class CalibrationForm(forms.Form):
    confirmed = forms.BooleanField(
        label=_("I have set a comfortable volume and will not change it during the test.")
    )


INTERVALS = [("0", "1"), ("1", "2"), ("2", "3")]


class ScreeningForm(forms.Form):
    """One 1-2-3 choice per clip of the open attempt; clips must have been played."""

    def __init__(self, attempt: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attempt = attempt
        self.groups: list[dict[str, Any]] = []
        for test in attempt["tests"]:
            group = []
            for i, item in enumerate(test["items"]):
                name = f"clip_{item['key']}"
                self.fields[name] = forms.TypedChoiceField(
                    label=gettext("Sound %(number)s") % {"number": i + 1},
                    choices=INTERVALS,
                    coerce=int,
                    widget=forms.RadioSelect,
                    error_messages={"required": _("Choose 1, 2 or 3.")},
                )
                group.append(
                    {
                        "field": name,
                        "key": item["key"],
                        "number": i + 1,
                        "bound": self[name],
                        # Played before (a reload): it is not sent again.
                        "played": bool(item.get("served")),
                    }
                )
            self.groups.append({"kind": test["kind"], "items": group})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        unplayed = [
            i + 1
            for test in self.attempt["tests"]
            for i, item in enumerate(test["items"])
            if not item["served"]
        ]
        if unplayed:
            raise forms.ValidationError(_("Play every sound before answering."))
        return cleaned

    def answers(self) -> dict[str, int]:
        """{clip key: chosen interval (0-based)}."""
        return {
            item["key"]: int(self.cleaned_data[item["field"]])
            for group in self.groups
            for item in group["items"]
        }
