"""A participant over real HTTP, as the pages behave: cookies, CSRF, idempotent retries.

Used by the fault tests and the load benchmark against gunicorn. :class:`Browser` is
one keep-alive connection with cookies; :class:`HttpParticipant` walks a session to
its first rated trial and saves answers the way static/participant/save.js does: each
answer gets one ``Idempotency-Key``, kept for every retry, and network errors, 429 and
5xx are retried with backoff until a deadline, while other answers are final. Every
save is logged with its outcome, so a test can check afterwards that the database
holds each acknowledged answer exactly once.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

HOST = "127.0.0.1"
TRIAL_DATA = re.compile(rb'<script id="trial-data" type="application/json">(.*?)</script>', re.S)
CSRF_META = re.compile(rb'<meta name="csrf-token" content="([^"]+)">')
NETWORK_ERRORS = (OSError, http.client.HTTPException)


class FormParser(HTMLParser):
    """Collect a page's first POST form: its fields and one plausible value for each."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self._in_form = True
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("radio", "checkbox"):
                self.fields.setdefault(name, a.get("value", "on"))
            elif kind not in ("submit", "button"):
                self.fields[name] = a.get("value") or "test answer"
        elif tag == "textarea" and name:
            self.fields[name] = "test answer"
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and a.get("value"):
            self.fields.setdefault(self._select, a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "form":
            self._in_form = False


def form_of(html: bytes) -> dict[str, str]:
    parser = FormParser()
    parser.feed(html.decode("utf-8", "replace"))
    return parser.fields


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Browser:
    """One keep-alive connection with cookies. Network errors are raised, after which the
    next request opens a new connection; :attr:`observe` sees every completed request."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        self.observe: Callable[[str, str, float, Reply | None, str], None] | None = None

    def close(self) -> None:
        self.conn.close()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        all_headers = {"Host": f"{HOST}:{self.port}", **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=all_headers)
                response = self.conn.getresponse()
                reply = Reply(
                    response.status,
                    {k.lower(): v for k, v in response.getheaders()},
                    response.read(),
                )
                break
            except NETWORK_ERRORS as error:
                self.conn.close()
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
                # An idle keep-alive closed by the server: a GET may simply go again.
                stale = isinstance(error, http.client.RemoteDisconnected | BrokenPipeError)
                if attempt == 1 and stale and method == "GET":
                    continue
                if self.observe:
                    self.observe(method, path, time.perf_counter() - started, None, repr(error))
                raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        if self.observe:
            self.observe(method, path, time.perf_counter() - started, reply, "")
        return reply

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, fields: dict[str, str]) -> Reply:
        origin = f"http://{HOST}:{self.port}"
        return self.request(
            "POST",
            path,
            urlencode(fields).encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": origin,
                "Referer": origin + path,
            },
        )

    def post_json(self, path: str, payload: Any, key: str, csrf: str) -> Reply:
        return self.request(
            "POST",
            path,
            json.dumps(payload).encode(),
            {
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Idempotency-Key": key,
                "X-CSRFToken": csrf,
                "Origin": f"http://{HOST}:{self.port}",
            },
        )


@dataclass
class Save:
    """One answer sent: its key and body, every attempt's outcome, and the final answer."""

    key: str
    body: dict[str, Any]
    attempts: list[str] = field(default_factory=list)
    status: int = 0
    response: Any = None

    @property
    def acknowledged(self) -> bool:
        return self.status == 200


class HttpParticipant:
    """Walk one session to its first rated trial, then save answers as save.js does."""

    def __init__(self, port: int, landing: str, *, retry_for: float = 60.0) -> None:
        self.browser = Browser(port)
        self.landing = landing
        self.retry_for = retry_for
        self.token = ""
        self.csrf = ""
        self.trial: dict[str, Any] = {}
        self.saves: list[Save] = []
        self.heard_until = 0.0

    @property
    def base(self) -> str:
        return f"/p/{self.token}"

    def _form_step(self, path: str, fields: dict[str, str]) -> str:
        page = self.browser.get(path)
        if page.status != 200:
            raise RuntimeError(f"GET {path} -> {page.status}")
        reply = self.browser.post_form(path, {**form_of(page.body), **fields})
        if reply.status != 302:
            raise RuntimeError(f"POST {path} -> {reply.status}")
        return reply.headers.get("location", "")

    def trial_page(self, step: str = "trial") -> dict[str, Any]:
        page = self.browser.get(f"{self.base}/{step}")
        found, meta = TRIAL_DATA.search(page.body), CSRF_META.search(page.body)
        if page.status != 200 or not found or not meta:
            raise RuntimeError(f"GET {self.base}/{step} -> {page.status}, no trial data")
        self.csrf = meta.group(1).decode()
        data: dict[str, Any] = json.loads(found.group(1))
        self.heard_until = time.time()  # the server times listening from the page
        return data

    def walk_to_trial(self) -> None:
        """Landing, consent, questionnaire, calibration, training: on to the first trial.
        (The study must have no headphone screening: its answers are not on the page.)"""
        location = self._form_step(self.landing, {})
        self.token = location.split("/")[2]
        self._form_step(f"{self.base}/consent", {"decision": "agree"})
        self._form_step(f"{self.base}/questionnaire", {})
        after = self._form_step(f"{self.base}/calibration", {"confirmed": "on"})
        if after.endswith("/screening"):
            raise RuntimeError("the study has a headphone screening: open it without one")
        training = self.trial_page("training")
        self.send({"trial": training["trial"]["id"], "type": "submit"})
        self.trial = self.trial_page("trial")

    def fetch_audio(self) -> None:
        """Download every file of the trial, as the page does before it can play."""
        reference = self.trial.get("reference")
        keys = [c["key"] for c in self.trial["conditions"]]
        for key in ([reference["key"]] if reference else []) + keys:
            reply = self.browser.get(f"/a/{key}")
            if reply.status != 200:
                raise RuntimeError(f"GET /a/... -> {reply.status}")

    def play_all(self, seconds: float = 0.0) -> Save:
        """Fetch every file, then listen to each condition for ``seconds`` in turn and report
        it as the player does (play, a switch to each, pause). The server times listening
        on its own clock, so this waits until that time has passed since the page (or the
        last listening reported)."""
        self.fetch_audio()
        keys = [c["key"] for c in self.trial["conditions"]]
        total = seconds * len(keys)
        wait = self.heard_until + total + 0.05 - time.time()
        if wait > 0:
            time.sleep(wait)
        now = time.time()
        self.heard_until = now

        def at(offset: float) -> str:
            moment = now - total + offset
            return datetime.fromtimestamp(moment, tz=UTC).isoformat()

        events: list[dict[str, Any]] = [
            {"type": "play", "condition": keys[0], "position": 0.0, "at": at(0)}
        ]
        for i, key in enumerate(keys[1:], start=1):
            events.append({"type": "switch", "from": keys[i - 1], "to": key, "at": at(seconds * i)})
        events.append({"type": "pause", "condition": keys[-1], "at": at(total)})
        return self.send({"trial": self.trial["trial"]["id"], "events": events}, "events")

    def rate(self, condition: str, attribute: str, score: int) -> Save:
        return self.send(
            {
                "trial": self.trial["trial"]["id"],
                "type": "rating",
                "condition": condition,
                "attribute": attribute,
                "score": score,
            }
        )

    def send(self, body: dict[str, Any], endpoint: str = "answers", key: str = "") -> Save:
        """POST with one key, retrying network errors, 429 and 5xx until ``retry_for`` runs out."""
        save = Save(key or str(uuid.uuid4()), body)
        self.saves.append(save)
        deadline, delay = time.monotonic() + self.retry_for, 0.05
        while True:
            try:
                reply = self.browser.post_json(f"{self.base}/{endpoint}", body, save.key, self.csrf)
            except NETWORK_ERRORS as error:
                save.attempts.append(type(error).__name__)
            else:
                save.attempts.append(str(reply.status))
                transient = reply.status in (408, 425, 429) or reply.status >= 500
                if not transient:
                    save.status = reply.status
                    save.response = reply.json()
                    return save
            if time.monotonic() > deadline:
                return save
            time.sleep(delay)
            delay = min(1.0, delay * 2)

    def close(self) -> None:
        self.browser.close()
