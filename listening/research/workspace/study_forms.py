"""The study builder's forms: typed fields for what the API takes as JSON.

The forms only collect and label; every rule comes from where the API gets it (the
builder that checks and saves them is :mod:`listening.research.workspace.study_builder`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.utils.text import slugify

from listening.models import Study
from listening.models.paradigm_kinds import PARADIGM_CHOICES
from listening.models.study_settings import (
    MAX_ATTRIBUTES,
    MAX_QUESTIONS,
    QUESTION_TYPES,
    SCREENING_TESTS,
    ScreeningSerializer,
)
from listening.research.api.serializers import LOCKED_AFTER_OPENING

QUESTION_TYPE_LABELS = {
    "text": "Text (one line)",
    "textarea": "Text (several lines)",
    "integer": "Whole number",
    "choice": "Choice",
    "boolean": "Yes / no",
}


class AttributeForm(forms.Form):
    """One rated attribute; its key (the participant pages' id) follows from the name."""

    name = forms.CharField(required=False, max_length=200, strip=True)
    description = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def key(self) -> str:
        value = self["name"].value() or ""
        return slugify(str(value)) or ""


class QuestionForm(forms.Form):
    """One questionnaire item, the fields of listening.models.study_settings.QuestionSerializer."""

    name = forms.CharField(label="Key (export column)", required=False, max_length=100)
    label = forms.CharField(label="Question", required=False, max_length=400)
    type = forms.ChoiceField(
        choices=[(t, QUESTION_TYPE_LABELS[t]) for t in QUESTION_TYPES], initial="text"
    )
    choices = forms.CharField(
        label="Options (one a line)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    min = forms.IntegerField(label="Minimum", required=False)
    max = forms.IntegerField(label="Maximum", required=False)
    help = forms.CharField(label="Hint under the question", required=False, max_length=600)
    required = forms.BooleanField(label="Answer required", required=False, initial=True)
    when = forms.ChoiceField(
        label="Asked", choices=[("start", "Before the trials"), ("final", "After the trials")]
    )

    def item(self) -> dict[str, Any]:
        """The item as the study stores it (only the fields that were given)."""
        data = self.cleaned_data
        item: dict[str, Any] = {"name": data["name"].strip(), "type": data["type"]}
        for text in ("label", "help"):
            if data[text].strip():
                item[text] = data[text].strip()
        lines = [line.strip() for line in data["choices"].splitlines() if line.strip()]
        if lines or data["type"] == "choice":
            item["choices"] = lines
        for bound in ("min", "max"):
            if data[bound] is not None:
                item[bound] = data[bound]
        item["required"] = data["required"]
        if data["when"] != "start":
            item["when"] = data["when"]
        return item

    @staticmethod
    def initial_for(item: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": item.get("name", ""),
            "label": item.get("label", ""),
            "help": item.get("help", ""),
            "type": item.get("type", "text"),
            "choices": "\n".join(item.get("choices", [])),
            "min": item.get("min"),
            "max": item.get("max"),
            "required": item.get("required", True),
            "when": item.get("when", "start"),
        }


AttributeFormSet = forms.formset_factory(
    AttributeForm, extra=1, can_order=True, can_delete=True, max_num=MAX_ATTRIBUTES
)
#: An open study's attributes: names fixed (as the API), descriptions still editable.
FixedAttributeFormSet = forms.formset_factory(AttributeForm, extra=0, max_num=MAX_ATTRIBUTES)
QuestionFormSet = forms.formset_factory(
    QuestionForm, extra=1, can_order=True, can_delete=True, max_num=MAX_QUESTIONS
)


#: The checks before a participant may go on ("next"): a section of their own.
_CHECK_FIELDS = ("must_play_all", "must_move_all", "require_100", "min_listen_seconds")
#: The test design: the paradigm, the reference and anchors, and how trials are drawn.
_DESIGN_FIELDS = (
    "paradigm",
    "reference_mode",
    "anchors",
    *(name for name in Study.TRIAL_FIELDS if name not in _CHECK_FIELDS),
)


class StudyForm(forms.Form):
    """A study's settings, in sections; attributes and questions come from two formsets."""

    title = forms.CharField(max_length=200, help_text="For researchers only.")
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="For researchers only."
    )
    public_title = forms.CharField(
        required=False,
        max_length=200,
        help_text="What participants see. Name no system, service or version here.",
    )
    public_description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What participants read on the first page. Name no system or service.",
    )
    paradigm = forms.ChoiceField(choices=PARADIGM_CHOICES)
    reference_mode = forms.ChoiceField(choices=Study.ReferenceMode.choices)
    anchors = forms.BooleanField(
        required=False, label="Low-pass anchors (3.5 kHz and 7 kHz, ITU-R BS.1534)"
    )
    loudness_target_lufs = forms.FloatField(label="Loudness target (LUFS)")
    true_peak_ceiling_dbtp = forms.FloatField(label="True-peak ceiling (dBTP)")
    sample_rate = forms.TypedChoiceField(label="Playback sample rate (Hz)", coerce=int)
    excerpt_start = forms.FloatField(label="Excerpt start (s, in the mix's timeline)")
    excerpt_length = forms.FloatField(label="Excerpt length (s)")
    fade_ms = forms.FloatField(label="Fade in and out (ms)")
    playback_bit_depth = forms.TypedChoiceField(
        label="Playback files", coerce=int, choices=Study.PlaybackBitDepth.choices
    )
    accept_mono = forms.BooleanField(
        required=False, label="Accept mono uploads (they play as dual mono and are flagged)"
    )
    accept_lossy = forms.BooleanField(
        required=False, label="Accept lossy uploads (MP3, Ogg, Opus; flagged)"
    )
    trials_per_participant = forms.IntegerField(
        required=False, label="Trials per participant", help_text="Empty: every track."
    )
    balancing = forms.ChoiceField(label="Orders", choices=Study.Balancing.choices)
    abx_repetitions = forms.IntegerField(label="ABX repetitions per track")
    ab_allow_no_preference = forms.BooleanField(
        required=False, label="A/B: allow \u201cno preference\u201d"
    )
    must_play_all = forms.BooleanField(required=False, label="Every version played")
    must_move_all = forms.BooleanField(required=False, label="Every MUSHRA slider moved")
    require_100 = forms.BooleanField(
        required=False, label="MUSHRA with a reference: one version rated 100 per attribute"
    )
    min_listen_seconds = forms.FloatField(label="Listening time that counts as played (s)")
    screening_tests = forms.MultipleChoiceField(
        label="Headphone tests",
        required=False,
        choices=[(t, t.capitalize()) for t in SCREENING_TESTS],
        widget=forms.CheckboxSelectMultiple,
    )
    screening_trials_per_test = forms.IntegerField(label="Trials per test", required=False)
    screening_pass_mark = forms.IntegerField(label="Pass mark (trials right)", required=False)
    screening_attempts = forms.IntegerField(label="Attempts", required=False)
    consent_text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))
    instructions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))
    completion_code = forms.CharField(
        required=False,
        max_length=64,
        help_text="The code Prolific expects (empty: each participant gets their own code).",
    )
    redirect_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Completion URL",
        help_text="Where participants go when done, e.g. Prolific's completion link.",
    )
    participant_target = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=100_000,
        label="Target participants",
        help_text="Completed participants the study aims for (e.g. from the sample-size plan); "
        "the dashboard shows progress against it. Optional.",
    )

    #: Model fields written from this form's fields of the same name.
    PLAIN = (
        "title",
        "description",
        "public_title",
        "public_description",
        "paradigm",
        *Study.PREPARATION_FIELDS,
        *Study.TRIAL_FIELDS,
        "consent_text",
        "instructions",
        "completion_code",
        "redirect_url",
        "participant_target",
    )

    #: The page's fieldsets of this form's fields, in order, by the template's names for them.
    SECTIONS: ClassVar[dict[str, tuple[str, ...]]] = {
        "study": (
            "title",
            "description",
            "public_title",
            "public_description",
            "participant_target",
        ),
        "design": _DESIGN_FIELDS,
        "audio": tuple(n for n in Study.PREPARATION_FIELDS if n not in _DESIGN_FIELDS),
        "checks": _CHECK_FIELDS,
        "screening": (
            "screening_tests",
            "screening_trials_per_test",
            "screening_pass_mark",
            "screening_attempts",
        ),
        "texts": ("consent_text", "instructions", "completion_code", "redirect_url"),
    }

    def __init__(self, *args: Any, study: Study | None = None, **kwargs: Any) -> None:
        self.study = study
        #: A note shown under a field, by field name (the page's view sets them).
        self.notes: dict[str, str] = {}
        if study is not None:
            kwargs.setdefault("initial", initial_for(study))
        else:
            kwargs.setdefault("initial", initial_for(Study()))
        super().__init__(*args, **kwargs)
        self.fields["sample_rate"].choices = [  # type: ignore[attr-defined]
            (rate, f"{rate}") for rate in settings.LISTENING_SAMPLE_RATES
        ]
        if study is not None and not study.is_draft:
            for name in LOCKED_AFTER_OPENING:
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].help_text = f"Fixed: the study is {study.status}."

    @property
    def sections(self) -> dict[str, list[tuple[forms.BoundField, str]]]:
        """Each fieldset's fields, each with its note (the rows workspace/fields.html shows)."""
        return {
            section: [(self[name], self.notes.get(name, "")) for name in names]
            for section, names in self.SECTIONS.items()
        }

    @property
    def locked(self) -> bool:
        return self.study is not None and not self.study.is_draft

    def screening(self) -> dict[str, Any]:
        data = self.cleaned_data
        value: dict[str, Any] = {"tests": list(data.get("screening_tests") or [])}
        for key in ("trials_per_test", "pass_mark", "attempts"):
            if data.get(f"screening_{key}") is not None:
                value[key] = data[f"screening_{key}"]
        stored = self.study.screening if self.study is not None else None
        # One pass mark per test (API only) has no field here: keep it, never drop it.
        if (
            "pass_mark" not in value
            and isinstance(stored, dict)
            and isinstance(stored.get("pass_mark"), dict)
        ):
            value["pass_mark"] = stored["pass_mark"]
        return value

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if self.errors:
            return data
        screening = ScreeningSerializer(data=self.screening())
        if not screening.is_valid():
            name_errors(self, screening.errors, "Screening", prefix="screening_")
        return data


def initial_for(study: Study) -> dict[str, Any]:
    """The form's initial values from a study (a new one: the model's defaults)."""
    initial = {name: getattr(study, name) for name in StudyForm.PLAIN}
    config = study.screening if isinstance(study.screening, dict) else {}
    initial["screening_tests"] = config.get("tests", [])
    for key in ("trials_per_test", "pass_mark", "attempts"):
        value = config.get(key)
        initial[f"screening_{key}"] = value if isinstance(value, int) else None
    return initial


def name_errors(
    form: forms.Form, errors: Any, where: str, *, prefix: str = "", fields: Any = None
) -> None:
    """Put DRF-style errors on the form's fields, each message naming where it belongs."""
    fields = fields if fields is not None else form.fields
    items = errors.items() if isinstance(errors, dict) else [("non_field_errors", errors)]
    for key, messages in items:
        messages = messages if isinstance(messages, list) else [messages]
        field = f"{prefix}{key}"
        for message in messages:
            text = str(message)
            if key != "non_field_errors" and field in fields:
                label = str(fields[field].label or key).lower()
                form.add_error(field, f"{where}, {label}: {text}")
            else:
                form.add_error(None, f"{where}: {text}")
