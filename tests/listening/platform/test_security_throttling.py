"""API rate limit per user, and the client address behind trusted proxies only."""

from __future__ import annotations

from django.core.cache import cache
from django.test import RequestFactory, SimpleTestCase, override_settings
from rest_framework.test import APIClient

from listening.platform.throttling import client_address
from tests.listening.base import BaseTestCase
from tests.listening.participant_fixtures import ParticipantTestCase


class ApiRateTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        cache.clear()

    @override_settings(LISTENING_API_RATE="3/minute")
    def test_it_answers_429_past_the_rate(self) -> None:
        api = self.login(self.researcher)
        assert [api.get("/api/studies/").status_code for _ in range(3)] == [200] * 3
        response = api.get("/api/studies/")
        assert response.status_code == 429
        assert response.data["code"] == "throttled"
        assert int(response["Retry-After"]) > 0

    @override_settings(LISTENING_API_RATE="3/minute")
    def test_it_counts_each_user_apart(self) -> None:
        api = self.login(self.researcher)
        for _ in range(4):
            api.get("/api/studies/")
        other = APIClient()
        other.force_authenticate(self.collaborator)
        assert other.get("/api/studies/").status_code == 200

    def test_the_default_rate_is_generous(self) -> None:
        api = self.login(self.researcher)
        assert all(api.get("/api/studies/").status_code == 200 for _ in range(50))


def request(remote: str, forwarded: str | None = None) -> object:
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


class ClientAddressTestCase(SimpleTestCase):
    def test_it_ignores_x_forwarded_for_without_trusted_proxies(self) -> None:
        assert client_address(request("203.0.113.9", "1.2.3.4")) == "203.0.113.9"

    @override_settings(LISTENING_TRUSTED_PROXIES=["10.0.0.0/8"])
    def test_it_believes_x_forwarded_for_from_a_trusted_proxy(self) -> None:
        assert client_address(request("10.0.0.5", "198.51.100.7")) == "198.51.100.7"

    @override_settings(LISTENING_TRUSTED_PROXIES=["10.0.0.0/8"])
    def test_it_ignores_x_forwarded_for_from_anyone_else(self) -> None:
        assert client_address(request("203.0.113.9", "198.51.100.7")) == "203.0.113.9"

    @override_settings(LISTENING_TRUSTED_PROXIES=["10.0.0.0/8"])
    def test_it_skips_trusted_hops_and_ignores_what_the_client_wrote(self) -> None:
        # The client wrote "1.1.1.1" itself; the proxy appended the address it saw.
        forwarded = "1.1.1.1, 198.51.100.7, 10.0.0.9"
        assert client_address(request("10.0.0.5", forwarded)) == "198.51.100.7"

    @override_settings(LISTENING_TRUSTED_PROXIES=["10.0.0.0/8"])
    def test_it_falls_back_to_the_proxy_on_garbage(self) -> None:
        assert client_address(request("10.0.0.5", "not-an-address")) == "10.0.0.5"
        assert client_address(request("10.0.0.5", "")) == "10.0.0.5"

    @override_settings(LISTENING_TRUSTED_PROXIES=1)
    def test_a_proxy_count_takes_the_address_that_many_hops_back(self) -> None:
        assert client_address(request("10.0.0.5", "1.1.1.1, 198.51.100.7")) == "198.51.100.7"
        assert client_address(request("10.0.0.5")) == "10.0.0.5"

    @override_settings(LISTENING_TRUSTED_PROXIES=2)
    def test_a_proxy_count_of_two(self) -> None:
        forwarded = "1.1.1.1, 198.51.100.7, 10.0.0.9"
        assert client_address(request("10.0.0.5", forwarded)) == "198.51.100.7"


@override_settings(LISTENING_SESSION_STARTS_PER_HOUR=2)
class SessionStartLimitTestCase(ParticipantTestCase):
    def setUp(self) -> None:
        super().setUp()
        cache.clear()

    def start(self, remote: str, forwarded: str = "") -> int:
        response = self.client_class().post(
            self.open_study.participant_path(),
            REMOTE_ADDR=remote,
            HTTP_X_FORWARDED_FOR=forwarded,
        )
        return response.status_code

    def test_a_spoofed_x_forwarded_for_does_not_escape_the_limit(self) -> None:
        statuses = [self.start("203.0.113.9", f"1.1.1.{i}") for i in range(3)]
        assert statuses == [302, 302, 429]

    @override_settings(LISTENING_TRUSTED_PROXIES=["10.0.0.1"])
    def test_behind_a_trusted_proxy_each_client_has_its_own_limit(self) -> None:
        assert [self.start("10.0.0.1", "198.51.100.1") for _ in range(3)] == [302, 302, 429]
        assert self.start("10.0.0.1", "198.51.100.2") == 302
