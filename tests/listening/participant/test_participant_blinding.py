"""Blinding: nothing a participant's browser receives names a condition (docs/blinding.md)."""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any, ClassVar

import soundfile as sf
from django.core.cache import cache

from listening.models import Condition, Stimulus
from tests.listening.participant_fixtures import (
    SECRET_FILES,
    SECRET_HUMAN,
    SECRET_PROVIDER,
    SECRET_STUDY_TITLE,
    SECRET_TITLE,
    Participant,
    ParticipantTestCase,
)

TOKENS = re.compile(r"[A-Za-z0-9_-]{20,}")
#: Words that would identify a condition (matched as whole words, case-insensitive).
FORBIDDEN = [
    "human",
    "ai",
    "anchor",
    "anchors",
    "mix",
    "master",
    "mastered",
    "engineer",
    "hidden",
    "landr",
    "system",
    "provider",
    "stimulus",
    "lowpass",
    "low-pass",
]


class RecordingParticipant(Participant):
    """Keeps every response (body and headers) the participant's browser received."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[tuple[str, str]] = []
        for name in ("get", "post"):
            setattr(self.client, name, self._recording(getattr(self.client, name)))

    def _recording(self, method: Any) -> Any:
        def call(path: str, *args: Any, **kwargs: Any) -> Any:
            response = method(path, *args, **kwargs)
            headers = "\n".join(f"{k}: {v}" for k, v in response.items())
            cookies = "\n".join(str(c) for c in response.cookies.values())
            body = b"" if response.streaming else response.content
            if not response.get("Content-Type", "").startswith("audio/"):
                self.received.append((path, f"{path}\n{headers}\n{cookies}\n{body.decode()}"))
            else:
                self.received.append((path, f"{path}\n{headers}\n{cookies}"))
            return response

        return call


class BlindingMixin:
    paradigm = "mushra"

    def walk(self: Any) -> RecordingParticipant:
        """Take a whole session, fetching every page, JSON answer and audio file."""
        cache.clear()
        p = RecordingParticipant(self.open_study, self.client)
        p.client.get(self.open_study.participant_path())
        p.to_training()
        for step in ("training", "trial"):
            while p.refresh().step == step:
                data = p.trial_data(step)
                # What the page reads on focus and to show the next trial in place.
                assert p.client.get(p.url("current")).json()["trial"] == data
                for key in [c["key"] for c in data["conditions"]] + (
                    [data["reference"]["key"]] if data["reference"] else []
                ):
                    response = p.client.get(f"/a/{key}")
                    assert response.status_code == 200
                    b"".join(response.streaming_content)
                p.play_all(data)
                self.answer(p, data)
                response = p.save({"trial": data["trial"]["id"], "type": "submit"})
                assert response.status_code == 200, response.json()
        p.client.post(p.url("final"), {"same_volume": "Yes"}, follow=True)
        assert p.refresh().state == "complete"
        return p

    def answer(self: Any, p: Participant, data: dict[str, Any]) -> None:
        if data["mode"] == "training":
            return
        trial = data["trial"]["id"]
        if data["paradigm"] == "mushra":
            for c in data["conditions"]:
                for a in data["attributes"]:
                    p.save(
                        {"trial": trial, "type": "rating", "condition": c["key"]}
                        | {"attribute": a["id"], "score": 100}
                    )
        elif data["paradigm"] == "abx":
            p.save({"trial": trial, "type": "abx", "condition": data["conditions"][0]["key"]})
        else:
            for a in data["attributes"]:
                p.save(
                    {"trial": trial, "type": "preference", "attribute": a["id"]}
                    | {"condition": None}
                )

    def assert_names_nothing(self: Any, p: RecordingParticipant) -> None:
        secrets = [SECRET_PROVIDER, SECRET_HUMAN, SECRET_TITLE, SECRET_STUDY_TITLE, "rock"]
        secrets += [*SECRET_FILES, self.open_study.title]
        for stimulus in Stimulus.objects.filter(track__study=self.open_study):
            secrets += [stimulus.prepared.name, stimulus.prepared_variant.name]
            secrets += [stimulus.original.name.rsplit("/", 1)[-1]]
        secrets = [s for s in secrets if s]
        assert len(p.received) > 30
        for path, text in p.received:
            # Tokens (keys, CSRF) are random; type="hidden" is the CSRF input's HTML.
            words = TOKENS.sub(" ", text).lower().replace('type="hidden"', "")
            for secret in secrets:
                # A short secret (the genre "rock") turns up by chance inside a random
                # token about once in a hundred runs: look for those outside the tokens.
                haystack = text.lower() if len(secret) >= 12 else words
                assert secret.lower() not in haystack, (secret, path)
            for word in FORBIDDEN:
                assert not re.search(rf"(?<![a-z0-9_-]){re.escape(word)}(?![a-z0-9_-])", words), (
                    word,
                    path,
                )
            if self.open_study.reference_mode == "none":
                # The page contract's empty field "reference": null is the only mention.
                rest = words.replace('"reference": null', "")
                assert not re.search(r"(?<![a-z])reference", rest), path
            assert "hidden_reference" not in words
            assert "hidden reference" not in words

    def assert_trial_files_are_indistinguishable(self: Any, p: Participant) -> None:
        for trial in p.session.trials.all():
            digests, lengths, shapes = set(), set(), set()
            conditions = list(trial.conditions.all())
            for condition in conditions:
                response = p.client.get(f"/a/{condition.key}")
                data = b"".join(response.streaming_content)
                digests.add(hashlib.sha256(data).hexdigest())
                lengths.add(response["Content-Length"])
                info = sf.info(io.BytesIO(data))
                shapes.add((info.samplerate, info.channels, info.frames, info.subtype, info.format))
            assert len(digests) == len(conditions), trial  # every file distinct in bytes
            assert len(lengths) == 1, lengths
            assert len(shapes) == 1, shapes


class MushraBlindingTestCase(BlindingMixin, ParticipantTestCase):
    def test_nothing_received_names_a_condition(self) -> None:
        p = self.walk()
        self.assert_names_nothing(p)
        self.assert_trial_files_are_indistinguishable(p)
        roles = set(
            Condition.objects.filter(trial__session=p.session).values_list("role", flat=True)
        )
        assert roles == {"reference", "hidden_reference", "anchor", "test"}

    def test_the_hidden_reference_plays_the_reference_from_other_bytes(self) -> None:
        p = self.walk()
        trial = p.session.rated_trials().first()
        hidden = trial.conditions.get(role="hidden_reference")
        reference = trial.conditions.get(role="reference")
        assert hidden.stimulus_id == reference.stimulus_id
        a = sf.read(io.BytesIO(b"".join(p.client.get(f"/a/{hidden.key}").streaming_content)))[0]
        b = sf.read(io.BytesIO(b"".join(p.client.get(f"/a/{reference.key}").streaming_content)))[0]
        assert abs(a - b).max() <= 2.0**-22  # the same audio, to within the dither
        assert (a != b).mean() > 0.3

    def test_keys_are_opaque_per_session(self) -> None:
        first = self.walk()
        second = Participant(self.open_study)
        second.to_training()
        for condition in Condition.objects.filter(trial__session=first.session):
            assert second.client.get(f"/a/{condition.key}").status_code == 404
        mine = second.session.training_trial().conditions.first()
        assert second.client.get(f"/a/{mine.key}").status_code == 200
        own = {c.key for c in Condition.objects.filter(trial__session=second.session)}
        assert own.isdisjoint(
            Condition.objects.filter(trial__session=first.session).values_list("key", flat=True)
        )


class AbxBlindingTestCase(BlindingMixin, ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {
        "paradigm": "abx",
        "reference_mode": "none",
        "anchors": False,
    }

    def test_nothing_received_names_a_condition(self) -> None:
        p = self.walk()
        self.assert_names_nothing(p)
        self.assert_trial_files_are_indistinguishable(p)


class AbBlindingTestCase(BlindingMixin, ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {
        "paradigm": "ab",
        "reference_mode": "none",
        "anchors": False,
    }

    def test_nothing_received_names_a_condition(self) -> None:
        p = self.walk()
        self.assert_names_nothing(p)
        self.assert_trial_files_are_indistinguishable(p)


class PublicTitleTestCase(BlindingMixin, ParticipantTestCase):
    """Participants read the study's public title and description, never the researcher's."""

    def test_no_page_shows_the_researchers_title_or_description(self) -> None:
        from listening.models import Study

        Study.objects.filter(pk=self.open_study.pk).update(
            public_title="A study of sound", public_description="Rate short music excerpts."
        )
        self.open_study.refresh_from_db()
        landing = self.client.get(self.open_study.participant_path())
        html = landing.content.decode()
        assert "<title>A study of sound</title>" in html
        assert "<h1>A study of sound</h1>" in html
        assert "Rate short music excerpts." in html
        p = self.walk()
        for path, text in p.received:
            assert SECRET_STUDY_TITLE.lower() not in text.lower(), path
            assert "the researcher's own notes" not in text, path
            assert "<title>" not in text or SECRET_STUDY_TITLE not in text, path

    def test_a_study_without_a_public_title_gets_a_neutral_one(self) -> None:
        html = self.client.get(self.open_study.participant_path()).content.decode()
        assert "<title>Listening study</title>" in html
        assert SECRET_STUDY_TITLE not in html
