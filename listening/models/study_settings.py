"""The schema of a study's structured settings: questionnaire, screening, attributes and
their descriptions, languages and translations.

One definition, written as DRF serializers (typed fields, ranges, cross-field rules),
used by every way a study's settings arrive: the API's serializer, the admin's study
form and ``import_study`` (both through ``Study.clean``), and ``Study.open``, which
refuses a study whose stored settings do not pass (written by an older version, or
straight into the database). The plain numeric settings (excerpt, loudness, trials,
repetitions) carry their ranges as validators on the model fields, which the admin,
``full_clean`` and the API's ModelSerializer all read.

Each ``clean_*`` function returns the normalised value (``"min": "0"`` becomes 0) or
raises Django's ValidationError with one readable message per problem, naming the item:
``item 1 ('age'): min: A valid integer is required.``
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from rest_framework import serializers

#: Questionnaire field types (listening.participant.forms builds one form field per type).
QUESTION_TYPES = ("choice", "text", "textarea", "integer", "boolean")
MAX_QUESTIONS = 50
MAX_CHOICES = 50
#: Integer answers' bounds are kept within what every database stores in a JSON number.
INTEGER_LIMIT = 10**9
#: Headphone screening tests (analysis.stimuli.screening) and its bounds.
SCREENING_TESTS = ("antiphase", "huggins")
MAX_SCREENING_TRIALS = 20  # docs/stimuli.md recommends 6; each trial is a clip to generate
MAX_SCREENING_ATTEMPTS = 5  # docs/stimuli.md (Headphone screening) recommends at most 2
MAX_ATTRIBUTES = 8
MAX_ATTRIBUTE_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 500
#: A translated consent text, description or instructions.
MAX_TEXT_LENGTH = 20000


class _Strict(serializers.Serializer[dict[str, Any]]):
    """A serializer that refuses keys it does not know (a typo must not pass silently)."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(str(k) for k in data if k not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {"non_field_errors": [f"unknown key(s): {', '.join(unknown)}"]}
                )
        value: dict[str, Any] = super().to_internal_value(data)
        return value


class QuestionSerializer(_Strict):
    """One questionnaire field, as ``listening.participant.forms.questionnaire_fields`` reads it."""

    # The name is a form field's name and a column of the sessions table (q_<name>).
    name = serializers.RegexField(
        r"^[A-Za-z][A-Za-z0-9_]{0,49}$",
        error_messages={
            "invalid": "use 1-50 letters, digits or _, starting with a letter",
        },
    )
    # (DRF takes declared fields off the class, so these names do not clash with Field's.)
    label = serializers.CharField(  # type: ignore[assignment]
        max_length=300, required=False, allow_blank=True
    )
    type = serializers.ChoiceField(QUESTION_TYPES, required=False)
    choices = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=MAX_CHOICES,
    )
    min = serializers.IntegerField(
        required=False, min_value=-INTEGER_LIMIT, max_value=INTEGER_LIMIT
    )
    max = serializers.IntegerField(
        required=False, min_value=-INTEGER_LIMIT, max_value=INTEGER_LIMIT
    )
    required = serializers.BooleanField(required=False)  # type: ignore[assignment]
    help = serializers.CharField(max_length=500, required=False, allow_blank=True)
    when = serializers.ChoiceField(("start", "final"), required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("type", "text")
        if kind == "choice":
            choices = attrs.get("choices") or []
            if not choices:
                raise serializers.ValidationError("a choice field needs its choices")
            if len(set(choices)) != len(choices):
                raise serializers.ValidationError("choices must be unique")
        elif "choices" in attrs:
            raise serializers.ValidationError("choices are for choice fields only")
        if kind != "integer" and ("min" in attrs or "max" in attrs):
            raise serializers.ValidationError("min and max are for integer fields only")
        low, high = attrs.get("min"), attrs.get("max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError(f"min ({low}) is above max ({high})")
        return attrs


class ScreeningSerializer(_Strict):
    """The headphone screening: which tests, trials per test, pass marks, attempts."""

    tests = serializers.ListField(
        child=serializers.ChoiceField(SCREENING_TESTS), required=False, max_length=2
    )
    trials_per_test = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_SCREENING_TRIALS
    )
    # One number for every test, or {test: number}.
    pass_mark = serializers.JSONField(required=False)
    attempts = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_SCREENING_ATTEMPTS
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from analysis.stimuli.screening import DEFAULT_TRIALS

        tests = attrs.get("tests", [])
        if len(set(tests)) != len(tests):
            raise serializers.ValidationError("tests: name each test once")
        trials = attrs.get("trials_per_test", DEFAULT_TRIALS)
        mark = attrs.get("pass_mark")
        if mark is None:
            return attrs
        marks = mark if isinstance(mark, dict) else dict.fromkeys(tests or SCREENING_TESTS, mark)
        if isinstance(mark, dict) and any(k not in tests for k in mark):
            raise serializers.ValidationError(
                f"pass_mark names a test that is not in tests: {sorted(set(mark) - set(tests))}"
            )
        for kind, value in marks.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise serializers.ValidationError(
                    f"pass_mark for {kind}: {value!r} must be a whole number of at least 1"
                )
            if value > trials:
                raise serializers.ValidationError(
                    f"pass_mark ({value}) is above trials_per_test ({trials})"
                )
        return attrs


def _messages(errors: Any, prefix: str = "") -> list[str]:
    """Flatten DRF's nested errors into readable lines (``field: message``)."""
    if isinstance(errors, dict):
        lines = []
        for key, value in errors.items():
            where = "" if key == "non_field_errors" else f"{key}: "
            lines += _messages(value, prefix + where)
        return lines
    if isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            return [prefix + str(e) for e in errors]
        lines = []
        for value in errors:
            if value:
                lines += _messages(value, prefix)
        return lines
    return [prefix + str(errors)]


def _item_messages(errors: Any, items: list[Any]) -> list[str]:
    # A list serializer reports {index: errors} (or one entry per item, by position).
    indexed = errors.items() if isinstance(errors, dict) else enumerate(errors)
    lines = []
    for i, error in sorted(indexed, key=lambda pair: pair[0]):
        if not error:
            continue
        item = items[i] if i < len(items) else None
        name = item.get("name") if isinstance(item, dict) else None
        label = f"item {i + 1}" + (f" ({name!r})" if isinstance(name, str) and name else "")
        lines += _messages(error, f"{label}: ")
    return lines


def clean_questionnaire(value: Any) -> list[dict[str, Any]]:
    """Return the questionnaire normalised, or raise ValidationError naming every problem."""
    if not isinstance(value, list):
        raise ValidationError(["Expected a list of items (one object per question)."])
    if len(value) > MAX_QUESTIONS:
        raise ValidationError([f"at most {MAX_QUESTIONS} questions, got {len(value)}"])
    serializer = QuestionSerializer(data=value, many=True)
    if not serializer.is_valid():
        raise ValidationError(_item_messages(serializer.errors, value))
    items: list[dict[str, Any]] = list(serializer.validated_data)
    seen: set[tuple[str, str]] = set()
    for item in items:
        key = (item.get("when", "start"), item["name"])
        if key in seen:
            raise ValidationError([f"the name {item['name']!r} is used twice ({key[0]})"])
        seen.add(key)
    return [dict(item) for item in items]


def clean_screening(value: Any) -> dict[str, Any]:
    """Return the screening settings normalised, or raise ValidationError with the reasons."""
    if not isinstance(value, dict):
        raise ValidationError(["Expected a dictionary of screening options."])
    serializer = ScreeningSerializer(data=value)
    if not serializer.is_valid():
        raise ValidationError(_messages(serializer.errors))
    return dict(serializer.validated_data)


def _language_codes() -> list[str]:
    from django.conf import settings

    return [code for code, _ in settings.LANGUAGES]


def clean_languages(value: Any) -> list[str]:
    """Return the study's languages, or raise ValidationError naming the unknown ones."""
    known = _language_codes()
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise ValidationError([f"languages must be a list of language codes ({', '.join(known)})"])
    codes = [code.strip().lower() for code in value]
    if not codes:
        raise ValidationError(["offer at least one language"])
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ValidationError(
            [f"unknown language(s) {', '.join(map(repr, unknown))}; use {', '.join(known)}"]
        )
    if len(set(codes)) != len(codes):
        raise ValidationError(["name each language once"])
    return codes


class AttributeTranslationSerializer(_Strict):
    """An attribute's name (and an optional description) in one language."""

    name = serializers.CharField(max_length=MAX_ATTRIBUTE_LENGTH, allow_blank=True, required=False)
    description = serializers.CharField(max_length=500, allow_blank=True, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not all(str(text).isprintable() for text in attrs.values()):
            raise serializers.ValidationError("use printable text (no control characters)")
        return attrs


class TranslationSerializer(_Strict):
    """A researcher's texts of a study in one language.

    (listening.models.study_translations.StudyTranslationsForm.)
    """

    # (DRF takes declared fields off the class, so these names do not clash with Field's.)
    public_title = serializers.CharField(max_length=200, allow_blank=True, required=False)
    public_description = serializers.CharField(
        max_length=MAX_TEXT_LENGTH, allow_blank=True, required=False
    )
    consent_text = serializers.CharField(
        max_length=MAX_TEXT_LENGTH, allow_blank=True, required=False
    )
    instructions = serializers.CharField(
        max_length=MAX_TEXT_LENGTH, allow_blank=True, required=False
    )
    # {stored attribute name: {"name": ..., "description": ...}}
    attributes = serializers.DictField(child=AttributeTranslationSerializer(), required=False)


def clean_translations(value: Any) -> dict[str, dict[str, Any]]:
    """Return the study's translations, {language: texts}, or raise ValidationError."""
    if not isinstance(value, dict):
        raise ValidationError(["translations must be a dictionary {language: texts}"])
    known = _language_codes()
    errors: list[str] = []
    cleaned: dict[str, dict[str, Any]] = {}
    for language, texts in value.items():
        if language not in known:
            errors.append(f"{language!r}: unknown language; use {', '.join(known)}")
            continue
        serializer = TranslationSerializer(data=texts)
        if not serializer.is_valid():
            errors += _messages(serializer.errors, f"{language}: ")
            continue
        cleaned[language] = {
            key: {name: dict(item) for name, item in text.items()}
            if key == "attributes"
            else text.strip()
            for key, text in serializer.validated_data.items()
        }
    if errors:
        raise ValidationError(errors)
    return cleaned


def translation_problems(attributes: Any, translations: Any) -> list[str]:
    """Name the translated attributes that the study does not rate (a rename left behind)."""
    names = set(attributes) if isinstance(attributes, list) else set()
    problems = []
    for language, texts in (translations or {}).items():
        extra = sorted(set((texts or {}).get("attributes") or {}) - names)
        if extra:
            problems.append(
                f"{language}: attributes: {', '.join(map(repr, extra))} "
                "is not an attribute of this study"
            )
    return problems


def clean_attributes(value: Any) -> list[str]:
    """Return the rated attributes (stripped), or raise ValidationError with the reason."""
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise ValidationError(["attributes must be a list of names"])
    names = [a.strip() for a in value]
    if not names or len(names) > MAX_ATTRIBUTES:
        raise ValidationError([f"give between 1 and {MAX_ATTRIBUTES} attributes, got {len(names)}"])
    if any(not n or len(n) > MAX_ATTRIBUTE_LENGTH for n in names):
        raise ValidationError([f"attribute names must be 1-{MAX_ATTRIBUTE_LENGTH} characters"])
    if not all(n.isprintable() for n in names):
        raise ValidationError(["attribute names must be printable (no control characters)"])
    if len(set(names)) != len(names):
        raise ValidationError(["attribute names must be unique"])
    return names


def clean_attribute_descriptions(value: Any) -> dict[str, str]:
    """Return the descriptions by attribute name (blank ones dropped), or raise
    ValidationError with the reason."""
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationError(["attribute_descriptions must map attribute names to texts"])
    cleaned = {k.strip(): v.strip() for k, v in value.items() if v.strip()}
    for name, text in cleaned.items():
        if len(text) > MAX_DESCRIPTION_LENGTH:
            raise ValidationError(
                [f"{name!r}: descriptions must be at most {MAX_DESCRIPTION_LENGTH} characters"]
            )
        if not all(c.isprintable() or c in "\n\t" for c in text):
            raise ValidationError([f"{name!r}: descriptions must be printable text"])
    return cleaned


def check_descriptions_match(descriptions: Any, attributes: Any) -> None:
    """Refuse descriptions of attributes the study does not rate (a renamed attribute)."""
    if not isinstance(descriptions, dict) or not isinstance(attributes, list):
        return
    stray = sorted(str(k) for k in descriptions if k not in attributes)
    if stray:
        raise ValidationError([f"describes no rated attribute: {', '.join(map(repr, stray))}"])


#: Every structured setting and its cleaner.
CLEANERS: dict[str, Any] = {
    "questionnaire": clean_questionnaire,
    "screening": clean_screening,
    "attributes": clean_attributes,
    "attribute_descriptions": clean_attribute_descriptions,
    "languages": clean_languages,
    "translations": clean_translations,
}


def settings_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Check the structured settings among ``values``: {field: messages} of those that fail."""
    errors: dict[str, list[str]] = {}
    for name, clean in CLEANERS.items():
        if name in values:
            try:
                clean(values[name])
            except ValidationError as exc:
                errors[name] = exc.messages
    return errors


class StructuredSettingsMixin:
    """For the API's study serializer: validate and normalise each setting by the schema."""

    structured: ClassVar[tuple[str, ...]] = tuple(CLEANERS)

    def _clean(self, name: str, value: Any) -> Any:
        try:
            return CLEANERS[name](value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate_questionnaire(self, value: Any) -> list[dict[str, Any]]:
        return self._clean("questionnaire", value)  # type: ignore[no-any-return]

    def validate_screening(self, value: Any) -> dict[str, Any]:
        return self._clean("screening", value)  # type: ignore[no-any-return]

    def validate_attributes(self, value: Any) -> list[str]:
        return self._clean("attributes", value)  # type: ignore[no-any-return]

    def validate_attribute_descriptions(self, value: Any) -> dict[str, str]:
        return self._clean("attribute_descriptions", value)  # type: ignore[no-any-return]

    def validate_languages(self, value: Any) -> list[str]:
        return self._clean("languages", value)  # type: ignore[no-any-return]

    def validate_translations(self, value: Any) -> dict[str, Any]:
        return self._clean("translations", value)  # type: ignore[no-any-return]
