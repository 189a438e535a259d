"""Headphone-screening clips go out once per session, enforced by the server (issue 13.5).

"Once" means each byte of a clip at most once: a browser playing a clip asks for it from
byte 0 and may ask for the rest where a response broke off, which is still one play; a
request that starts in bytes already sent is a second play, refused with 410 Gone.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from django.core.cache import cache

from listening.participant.screening import clip, grant
from tests.listening.participant_fixtures import ParticipantTestCase


@pytest.mark.parametrize(
    ("sent", "first", "last", "ranged", "expected"),
    [
        ([], 0, 99, False, (0, 99)),  # a first, whole fetch
        ([[0, 100]], 0, 99, False, None),  # again
        ([[0, 100]], 0, 99, True, None),  # again, by Range
        ([[0, 40]], 40, 99, True, (40, 99)),  # the rest after a break
        ([[0, 40]], 20, 99, True, None),  # starts in bytes sent
        ([[0, 40]], 0, 99, False, None),  # no Range: only a clip never sent
        ([[60, 100]], 0, 99, True, (0, 59)),  # cut short before bytes sent
        ([[60, 100]], 10, 30, True, (10, 30)),
        ([[0, 10], [60, 100]], 10, 99, True, (10, 59)),
        ([[0, 10], [60, 100]], 99, 99, True, None),
    ],
)
def test_grant(sent: list[list[int]], first: int, last: int, ranged: bool, expected: Any) -> None:
    assert grant(sent, first, last, ranged) == expected


class ScreeningOnceTestCase(ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {"screening": {"tests": ["antiphase"]}}

    def setUp(self) -> None:
        super().setUp()
        cache.clear()
        self.p = self.participant()
        self.p.start()
        self.p.consent()
        self.p.questionnaire()
        self.p.calibrate()
        page = self.p.client.get(self.p.url("screening"))
        assert page.status_code == 200
        self.keys = [i["key"] for t in self.p.screening_attempt()["tests"] for i in t["items"]]

    def fetch(self, key: str, range_header: str | None = None) -> Any:
        headers = {"Range": range_header} if range_header else {}
        response = self.p.client.get(f"/a/{key}", headers=headers)
        if response.streaming:
            response.body = b"".join(response.streaming_content)
        return response

    def assert_gone(self, response: Any) -> None:
        assert response.status_code == 410, response.status_code
        assert b"already been played" in response.content
        assert response["Cache-Control"] == "private, no-store"

    def test_a_clip_is_sent_once(self) -> None:
        first = self.fetch(self.keys[0])
        assert first.status_code == 200
        whole = first.body
        assert len(whole) == int(first["Content-Length"]) > 1000
        self.assert_gone(self.fetch(self.keys[0]))
        self.assert_gone(self.fetch(self.keys[0], "bytes=0-"))
        self.assert_gone(self.fetch(self.keys[0], "bytes=500-600"))
        # Other clips are untouched.
        assert self.fetch(self.keys[1]).status_code == 200

    def test_one_play_may_come_in_ranges(self) -> None:
        key = self.keys[0]
        head = self.fetch(key, "bytes=0-")  # what a media element asks first
        size = int(head["Content-Range"].rsplit("/", 1)[1])
        # Suppose the browser read only 1000 bytes of it before the connection broke:
        # the server sent them all, so asking for the rest again is refused ...
        self.assert_gone(self.fetch(key, "bytes=1000-"))
        other = self.keys[1]
        start = self.fetch(other, "bytes=0-999")
        assert (start.status_code, len(start.body)) == (206, 1000)
        rest = self.fetch(other, "bytes=1000-")  # ... but a range not sent yet is served
        assert rest.status_code == 206
        assert rest["Content-Range"] == f"bytes 1000-{size - 1}/{size}"
        assert start.body + rest.body == clip(self.p.refresh(), other)[0]  # padded: one size
        self.assert_gone(self.fetch(other, "bytes=0-"))
        # A range that runs into bytes already sent is cut short before them.
        third = self.keys[2]
        self.fetch(third, "bytes=2000-")
        early = self.fetch(third, "bytes=0-")
        assert early.status_code == 206
        assert early["Content-Range"] == f"bytes 0-1999/{size}"
        assert len(early.body) == 2000

    def test_head_requests_send_nothing_and_the_calibration_loops(self) -> None:
        head = self.p.client.head(f"/a/{self.keys[0]}")
        assert head.status_code == 200
        assert self.fetch(self.keys[0]).status_code == 200
        calibration = self.p.refresh().screening["calibration"]
        for _ in range(3):
            assert self.fetch(calibration).status_code == 200

    def test_a_reloaded_page_shows_played_clips_as_played(self) -> None:
        self.fetch(self.keys[0])
        html = self.p.client.get(self.p.url("screening")).content.decode()
        assert f'data-src="/a/{self.keys[0]}"' not in html  # nothing left to fetch
        assert f'data-src="/a/{self.keys[1]}"' in html
        assert html.count('data-state="played"') == 1

    def test_every_clip_played_once_passes_the_screening(self) -> None:
        for key in self.keys:
            assert self.fetch(key).status_code == 200
        data = {}
        for item in self.p.screening_attempt()["tests"][0]["items"]:
            data[f"clip_{item['key']}"] = str(item["correct"])
        self.p.client.post(self.p.url("screening"), data)
        assert self.p.refresh().state == "training"
        # The attempt is over: its clips are not served any more at all.
        assert self.fetch(self.keys[0]).status_code == 404
