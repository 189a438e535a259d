"""The stimulus admin a researcher works in: listening, key metrics, grouped detail, logs."""

from __future__ import annotations

import io

import soundfile as sf
from django.test import override_settings

from listening.models import Stimulus
from listening.research.admin.metrics import grouped_metrics, key_metrics
from listening.stimuli.measurement import measure_track
from listening.stimuli.preparation import prepare_track
from tests.listening.base import IMMEDIATE, BaseTestCase


@override_settings(TASKS=IMMEDIATE)
class StimulusAdminTestCase(BaseTestCase):
    clean_media_per_test = False

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.study.anchors = False
        cls.study.save()
        cls.track = cls.add_full_track("Song", seed=5, human=False)
        prepare_track(cls.track.pk)
        measure_track(cls.track.pk)
        cls.master = Stimulus.objects.get(role="master")

    def url(self, kind: str, stimulus: Stimulus | None = None) -> str:
        return f"/admin/listening/stimulus/{(stimulus or self.master).pk}/audio/{kind}/"

    def test_a_researcher_listens_to_the_original_and_the_prepared_file(self) -> None:
        self.client.force_login(self.collaborator)
        for kind, stored, content_type in (
            ("original", self.master.original, "audio/wav"),
            ("prepared", self.master.prepared, "audio/flac"),
        ):
            response = self.client.get(self.url(kind))
            assert response.status_code == 200
            assert response["Content-Type"] == content_type
            body = b"".join(response.streaming_content)
            with stored.open("rb") as f:
                assert body == f.read()
            info = sf.info(io.BytesIO(body))
            assert info.frames > 0

    def test_the_player_can_seek_with_range_requests(self) -> None:
        self.client.force_login(self.researcher)
        size = self.master.prepared.size
        response = self.client.get(self.url("prepared"), HTTP_RANGE="bytes=100-199")
        assert response.status_code == 206
        assert response["Content-Range"] == f"bytes 100-199/{size}"
        with self.master.prepared.open("rb") as f:
            assert b"".join(response.streaming_content) == f.read()[100:200]
        response = self.client.get(self.url("prepared"), HTTP_RANGE=f"bytes={size}-")
        assert response.status_code == 416

    def test_nobody_else_can_listen(self) -> None:
        response = self.client.get(self.url("original"))
        assert response.status_code == 302  # to the admin login
        assert "/admin/login/" in response["Location"]
        self.client.force_login(self.outsider)
        assert self.client.get(self.url("original")).status_code == 404
        self.client.force_login(self.researcher)
        other = self.client.get(self.url("secret"))  # no such route: never audio
        assert other.status_code in (302, 404)
        assert not other.get("Content-Type", "").startswith("audio/")

    def test_the_list_shows_key_metrics_and_listen_links(self) -> None:
        self.client.force_login(self.researcher)
        page = self.client.get("/admin/listening/stimulus/").content.decode()
        metrics = self.master.metrics
        assert f"I {metrics['integrated']:.1f} LUFS" in page
        assert f"TP {metrics['true_peak']:.1f} dBTP" in page
        # DR is undefined under 15 s of audio (these files are 12 s).
        assert "DR -" in page if metrics["dr"] is None else f"DR {metrics['dr']:.0f}" in page
        assert f"DM {metrics['dm']:.0f} %" in page
        assert self.url("original") in page
        assert self.url("prepared") in page

    def test_the_detail_groups_and_rounds_the_metrics(self) -> None:
        self.client.force_login(self.researcher)
        page = self.client.get(f"/admin/listening/stimulus/{self.master.pk}/change/")
        html = page.content.decode()
        assert "<caption>Loudness (BS.1770-4, EBU Tech 3342)</caption>" in html
        assert "<caption>Distortion (DM, HFD)</caption>" in html
        assert f'<audio controls preload="metadata" src="{self.url("prepared")}">' in html
        groups = dict(grouped_metrics(self.master.metrics))
        loudness = dict(groups["Loudness (BS.1770-4, EBU Tech 3342)"])
        assert loudness["integrated"] == f"{self.master.metrics['integrated']:.2f}".rstrip("0")
        assert "mix_integrated" in dict(groups["Mix (the reference)"])
        assert "align_lag" in dict(groups["Alignment to the mix"])
        # Every key appears once, in some group.
        keys = [k for _, rows in groups.items() for k, _ in rows]
        assert sorted(keys) == sorted(self.master.metrics)

    def test_key_metrics_say_when_hfd_does_not_apply(self) -> None:
        line = key_metrics({"integrated": -9.04, "true_peak": -1.06, "dr": 6, "dm": 12.4,
                            "hfd": None, "hfd_valid": False})  # fmt: skip
        assert line == "I -9.0 LUFS · TP -1.1 dBTP · DR 6 · DM 12 % · HFD n/a"


class WorkerLogTestCase(BaseTestCase):
    def test_worker_logs_name_the_study_track_and_step(self) -> None:
        self.study.anchors = False
        self.study.save()
        track = self.add_full_track("Logged song", seed=6, human=False)
        with self.assertLogs("listening.stimuli.preparation", level="INFO") as logs:
            prepare_track(track.pk)
        text = "\n".join(logs.output)
        where = f"study {self.study.pk} 'Masters study', track {track.pk} 'Logged song'"
        assert f"{where}, prepare: start" in text
        assert f"{where}, decode Logged song: mix" in text
        assert f"{where}, prepare: done: 2 ready, 0 failed" in text
