"""Decode bombs through every way in: the API, the admin and import_study, and preparation.

Files whose headers state a huge rate, channel count or length are refused before any
decoding, with a clear error naming the setting (JSON 400 in the API, a form error in
the admin, a row in import_study's report); nothing is stored. Preparation decodes a
track's mix and one master at a time, within AUDIO_PREPARATION_MAX_BYTES: a version
that would pass it fails with the reason and is never decoded.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import soundfile as sf
from django.core.management import CommandError, call_command
from django.test import override_settings

from listening.models import Stimulus
from listening.stimuli.measurement import measure_track
from listening.stimuli.preparation import prepare_track
from tests import crafted_audio as crafted
from tests.listening.base import BaseTestCase, upload, versions, wav_bytes
from tests.listening.stimuli.test_security_uploads import BOUNDARY, multipart

#: The attack's file: 655,350 Hz stereo for 1,790 s (17.5 GiB as float64).
ATTACK = crafted.flac(rate=655_350, frames=1790 * 655_350)
RATE_REFUSAL = "655350 Hz is outside the accepted sample rates (8000-192000 Hz)"


class DecodeBombUploadTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.track = self.add_track("Song")

    def post(self, name: str, data: bytes) -> Any:
        api = self.login(self.researcher)
        body = multipart({"track": str(self.track.pk), "role": "mix"}, name, data)
        return api.post(
            "/api/stimuli/", body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
        )

    def assert_refused(self, response: Any, fragment: str) -> None:
        assert response.status_code == 400, response.content[:300]
        assert response["Content-Type"] == "application/json"
        assert fragment in response.json()["detail"], response.json()["detail"]
        assert Stimulus.objects.count() == 0
        assert self.stored_files() == []

    def test_the_api_refuses_the_attacks_file_with_a_json_400(self) -> None:
        with mock.patch.object(sf.SoundFile, "read", side_effect=AssertionError("decoded")):
            response = self.post("bomb.flac", ATTACK)
        self.assert_refused(response, f"bomb.flac: {RATE_REFUSAL} (AUDIO_MAX_SAMPLE_RATE)")

    def test_the_api_refuses_every_crafted_header(self) -> None:
        cases = {
            "rate.wav": (crafted.wav(rate=655_350), "AUDIO_MAX_SAMPLE_RATE"),
            "rate.ogg": (crafted.ogg(rate=655_350), "AUDIO_MAX_SAMPLE_RATE"),
            "rate.aiff": (crafted.aiff(rate=655_350), "AUDIO_MAX_SAMPLE_RATE"),
            "channels.wav": (crafted.wav(channels=64), "64 channels; only mono and stereo"),
            "long.flac": (crafted.flac(frames=2**35), "AUDIO_MAX_SECONDS"),
            "long.ogg": (crafted.ogg(frames=2**40), "AUDIO_MAX_SECONDS"),
            "long.mp3": (crafted.mp3(frames=2**30), "AUDIO_MAX_SECONDS"),
            "nolength.flac": (crafted.flac(frames=0), "does not state its length"),
        }
        for name, (data, fragment) in cases.items():
            with mock.patch.object(sf.SoundFile, "read", side_effect=AssertionError(name)):
                response = self.post(name, data)
            self.assert_refused(response, fragment)
        # A truncated file within the limits is decoded as far as it goes, and refused.
        self.assert_refused(self.post("cut.flac", crafted.flac()[:5000]), "cut.flac: ")

    @override_settings(AUDIO_MAX_DECODED_BYTES=10 * 2**20)
    def test_the_decoded_size_is_bounded(self) -> None:
        data = crafted.flac(rate=96_000, frames=60 * 96_000)  # one minute: 88 MiB decoded
        response = self.post("big.flac", data)
        self.assert_refused(response, "decode to 0.09 GiB, above the limit of 0.01 GiB")
        assert "(AUDIO_MAX_DECODED_BYTES)" in response.json()["detail"]

    def test_running_out_of_memory_is_a_400_not_a_500(self) -> None:
        data = wav_bytes(versions()["mix"])
        with mock.patch.object(sf.SoundFile, "read", side_effect=MemoryError):
            response = self.post("mix.wav", data)
        self.assert_refused(response, "mix.wav: not enough memory to decode the audio")

    def test_the_admin_shows_a_form_error(self) -> None:
        self.login(self.researcher)
        response = self.client.post(
            "/admin/listening/stimulus/add/",
            {
                "track": str(self.track.pk),
                "role": "mix",
                "system": "none",
                "original": upload("bomb.flac", ATTACK),
            },
        )
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors["original"]
        assert errors == [f"bomb.flac: {RATE_REFUSAL} (AUDIO_MAX_SAMPLE_RATE)"]
        assert Stimulus.objects.count() == 0

    def test_import_study_reports_the_row(self) -> None:
        folder = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, folder)
        (folder / "bomb.flac").write_bytes(ATTACK)
        (folder / "manifest.csv").write_text(
            "track,genre,file,role,system,provider\nSong,pop,bomb.flac,mix,,\n"
        )
        with pytest.raises(CommandError) as raised:
            call_command(
                "import_study", str(folder), owner="researcher", verbosity=0, stdout=io.StringIO()
            )
        assert f"row 2: bomb.flac: {RATE_REFUSAL} (AUDIO_MAX_SAMPLE_RATE)" in str(raised.value)


class PreparationBudgetTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.track = self.add_full_track()  # a mix, an AI master at 48 kHz, a human master
        self.mix = self.track.mix
        assert self.mix is not None
        self.mix_bytes = round(self.mix.original_duration * self.mix.original_rate) * 2 * 8

    def test_a_master_past_the_budget_fails_with_the_reason_undecoded(self) -> None:
        # Room for the mix and the 44.1 kHz human master, not for the 48 kHz AI master.
        budget = self.mix_bytes * 2 + self.mix_bytes // 20
        decoded: list[str] = []
        real = sf.SoundFile.read

        def counting(f: sf.SoundFile, *args: Any, **kwargs: Any) -> Any:
            decoded.append(f.name)
            return real(f, *args, **kwargs)

        with (
            override_settings(AUDIO_PREPARATION_MAX_BYTES=budget),
            mock.patch.object(sf.SoundFile, "read", counting),
        ):
            prepare_track(self.track.pk)
        ai = Stimulus.objects.get(track=self.track, system="ai")
        assert ai.status == "failed"
        assert "above the preparation budget" in ai.error
        assert "(AUDIO_PREPARATION_MAX_BYTES)" in ai.error
        assert ai.original.path not in decoded
        human = Stimulus.objects.get(track=self.track, system="human")
        assert human.status == "ready", human.error
        with override_settings(AUDIO_PREPARATION_MAX_BYTES=budget):
            measure_track(self.track.pk)
        ai.refresh_from_db()
        assert "above the preparation budget" in ai.metrics_error

    def test_a_mix_past_the_budget_fails_every_version(self) -> None:
        with override_settings(AUDIO_PREPARATION_MAX_BYTES=self.mix_bytes // 2):
            prepare_track(self.track.pk)
        mix = Stimulus.objects.get(pk=self.mix.pk)
        assert mix.status == "failed"
        assert "above the preparation budget" in mix.error
        assert not Stimulus.objects.filter(track=self.track, status="ready").exists()
