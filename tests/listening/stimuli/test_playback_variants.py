"""Each participant session gets its own bytes of every version (issue 13, item 7).

A track is prepared for real (mix as open and hidden reference, an AI and a human
master); sessions with one trial each then fetch every condition through /a/<key> as a
browser would. The bytes of a version differ between sessions and between the two
conditions of a trial that play the same version; every file of a trial has the same
size, rate, length and format; and the decoded copies of a version differ only by the
dither, within a few least significant bits.
"""

from __future__ import annotations

import io
import itertools

import numpy as np
import soundfile as sf
from django.conf import settings
from django.http import HttpResponse

from listening.models import Condition, Session, Stimulus, Trial
from listening.participant.audio import PARTICIPANT_COOKIE, attach_participant
from listening.stimuli.playback_variants import variant_index
from listening.stimuli.preparation import prepare_track
from tests.listening.base import BaseTestCase

LSB_24 = 2.0**-23


class PlaybackVariantsTestCase(BaseTestCase):
    clean_media_per_test = False

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.study.reference_mode = "mix"
        cls.study.anchors = False
        cls.study.save()
        cls.track = cls.add_full_track("Song", seed=4)
        prepare_track(cls.track.pk)

    def fetch_session(self) -> dict[str, bytes]:
        """One session with one MUSHRA-like trial; the bytes of each condition, by role."""
        session = Session.objects.create(study=self.study)
        trial = Trial.objects.create(session=session, position=1, track=self.track, kind="mushra")
        stimuli = {s.role if s.role == "mix" else s.system: s for s in self.track.stimuli.all()}
        roles = [
            ("reference", stimuli["mix"], Condition.Role.REFERENCE),
            ("hidden", stimuli["mix"], Condition.Role.HIDDEN_REFERENCE),
            ("ai", stimuli["ai"], Condition.Role.TEST),
            ("human", stimuli["human"], Condition.Role.TEST),
        ]
        response = HttpResponse()
        attach_participant(response, session)
        self.client.cookies[PARTICIPANT_COOKIE] = response.cookies[PARTICIPANT_COOKIE].value
        out = {}
        for position, (name, stimulus, role) in enumerate(roles):
            condition = Condition.objects.create(
                trial=trial, stimulus=stimulus, position=position, role=role
            )
            reply = self.client.get(f"/a/{condition.key}")
            assert reply.status_code == 200
            out[name] = b"".join(reply.streaming_content)
        return out

    def test_every_version_is_prepared_with_a_pool_of_one_size(self) -> None:
        stimuli = list(self.track.stimuli.all())
        assert {s.status for s in stimuli} == {Stimulus.Status.READY}
        sizes = set()
        for stimulus in stimuli:
            assert len(stimulus.prepared_pool) == settings.LISTENING_PLAYBACK_VARIANTS
            storage = stimulus.prepared.storage
            for name in [stimulus.prepared.name, *stimulus.prepared_pool]:
                sizes.add(storage.size(name))
        assert len(sizes) == 1

    def test_sessions_get_different_bytes_of_every_version(self) -> None:
        sessions = [self.fetch_session() for _ in range(settings.LISTENING_PLAYBACK_VARIANTS // 2)]
        for name in ("reference", "hidden", "ai", "human"):
            files = [s[name] for s in sessions]
            assert len(set(files)) == len(files), name
        # Nor does any file of one session equal any file of another.
        for a, b in itertools.combinations(sessions, 2):
            assert set(a.values()).isdisjoint(b.values())

    def test_within_a_trial_every_file_differs_and_has_one_size_and_format(self) -> None:
        files = self.fetch_session()
        assert len(set(files.values())) == 4  # the hidden reference differs from the open one
        assert len({len(data) for data in files.values()}) == 1
        infos = [sf.info(io.BytesIO(data)) for data in files.values()]
        shapes = {(i.samplerate, i.frames, i.channels, i.format, i.subtype) for i in infos}
        assert shapes == {(48000, 5 * 48000, 2, "FLAC", "PCM_24")}

    def test_copies_of_a_version_decode_equal_within_the_dither(self) -> None:
        first, second = self.fetch_session(), self.fetch_session()
        for name in ("reference", "ai"):
            a, _ = sf.read(io.BytesIO(first[name]), dtype="float64")
            b, _ = sf.read(io.BytesIO(second[name]), dtype="float64")
            difference = np.abs(a - b)
            # Each copy is within 1.5 LSB of the same source (TPDF of +-1 LSB, then rounding).
            assert difference.max() <= 3 * LSB_24
            assert 0.3 * LSB_24 < float(np.sqrt(np.mean(difference**2))) < 1.5 * LSB_24
        a, _ = sf.read(io.BytesIO(first["reference"]), dtype="float64")
        b, _ = sf.read(io.BytesIO(first["hidden"]), dtype="float64")
        assert np.abs(a - b).max() <= 3 * LSB_24

    def test_the_draw_rotates_with_the_session_and_keeps_repeats_apart(self) -> None:
        size = 8
        for stimulus in (1, 2, 99):
            first = [variant_index(s, stimulus, False, size) for s in range(100, 104)]
            repeat = [variant_index(s, stimulus, True, size) for s in range(100, 104)]
            assert len(set(first)) == 4
            assert len(set(repeat)) == 4
            assert set(first).isdisjoint(repeat)
        assert variant_index(5, 1, True, 1) == 0


class PoolEncodingTestCase(BaseTestCase):
    """The pool's copies are encoded on a few threads; the files must not depend on that."""

    def pool(self, stimulus: Stimulus) -> list[np.ndarray]:
        stimulus.refresh_from_db()
        storage = stimulus.prepared.storage
        decoded = []
        for name in stimulus.prepared_pool:
            with storage.open(name) as f:
                decoded.append(sf.read(io.BytesIO(f.read()), dtype="float64")[0])
        return decoded

    def test_the_pool_is_the_same_encoded_on_threads_or_one_after_another(self) -> None:
        from unittest import mock

        self.study.anchors = False
        self.study.save()
        track = self.add_full_track("Song", seed=5)
        prepare_track(track.pk)
        master = track.stimuli.get(system="ai")
        threaded = self.pool(master)
        with mock.patch(
            "analysis.metrics.threads.pmap", lambda fn, items: [fn(item) for item in items]
        ):
            prepare_track(track.pk, force=True)
        sequential = self.pool(master)
        assert len(threaded) == len(sequential) == settings.LISTENING_PLAYBACK_VARIANTS
        for a, b in zip(threaded, sequential, strict=True):
            np.testing.assert_array_equal(a, b)
        # Distinct seeds: no two copies of the pool are the same.
        assert all(not np.array_equal(a, b) for a, b in itertools.combinations(threaded, 2))
