"""Login brute force: failed logins are limited per username and address (admin and API)."""

from __future__ import annotations

import base64

from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from listening.platform.throttling import login_throttle
from tests.listening.base import BaseTestCase

ADMIN_LOGIN = "/admin/login/?next=/admin/"
# A fast hasher: these tests try dozens of passwords.
FAST = {"PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"]}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@override_settings(
    LISTENING_LOGIN_FAILURES=10,
    LISTENING_LOGIN_FAILURES_PER_ADDRESS=30,
    LISTENING_LOGIN_WINDOW_MINUTES=15,
    **FAST,
)
class AdminLoginThrottleTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        cache.clear()
        self.clock = FakeClock()
        self._real_clock = login_throttle.clock
        login_throttle.clock = self.clock

    def tearDown(self) -> None:
        login_throttle.clock = self._real_clock
        super().tearDown()

    def admin_login(self, username: str, password: str, address: str = "10.0.0.1") -> int:
        response = self.client.post(
            ADMIN_LOGIN,
            {"username": username, "password": password, "next": "/admin/"},
            REMOTE_ADDR=address,
        )
        if response.status_code == 302:
            self.client.logout()
        return response.status_code

    def fail(self, times: int, username: str = "researcher", address: str = "10.0.0.1") -> None:
        for _ in range(times):
            assert self.admin_login(username, "wrong", address) == 200

    def test_it_lets_the_right_password_in_below_the_limit(self) -> None:
        self.fail(9)
        assert self.admin_login("researcher", "pw") == 302

    def test_it_refuses_the_eleventh_attempt_even_with_the_right_password(self) -> None:
        self.fail(10)
        response = self.client.post(
            ADMIN_LOGIN, {"username": "researcher", "password": "pw"}, REMOTE_ADDR="10.0.0.1"
        )
        assert response.status_code == 200
        self.assertContains(response, "Too many failed login attempts. Try again in 15 minutes.")
        assert "_auth_user_id" not in self.client.session

    def test_it_leaves_other_users_and_addresses_alone(self) -> None:
        self.fail(10)
        assert self.admin_login("collaborator", "pw") == 302
        assert self.admin_login("researcher", "pw", address="10.0.0.2") == 302

    def test_it_lets_the_user_in_again_once_the_window_has_passed(self) -> None:
        self.fail(10)
        self.clock.now += 14 * 60
        assert self.admin_login("researcher", "pw") == 200
        self.clock.now += 61
        assert self.admin_login("researcher", "pw") == 302

    def test_it_forgets_failures_after_a_successful_login(self) -> None:
        self.fail(9)
        assert self.admin_login("researcher", "pw") == 302
        self.fail(9)
        assert self.admin_login("researcher", "pw") == 302

    def test_it_ignores_the_case_of_the_username(self) -> None:
        self.fail(5, username="Researcher")
        self.fail(5, username="RESEARCHER")
        assert self.admin_login("researcher", "pw") == 200

    def test_password_spraying_from_one_address_is_capped(self) -> None:
        for n in range(30):  # one failure each for 30 usernames: no per-user limit is hit
            self.fail(1, username=f"user{n}")
        assert self.admin_login("researcher", "pw") == 200  # refused, right password or not
        assert self.admin_login("researcher", "pw", address="10.0.0.2") == 302
        self.clock.now += 15 * 60 + 1
        assert self.admin_login("researcher", "pw") == 302

    def test_a_known_account_cannot_reset_the_address_cap(self) -> None:
        for n in range(29):
            self.fail(1, username=f"user{n}")
        assert self.admin_login("collaborator", "pw") == 302
        self.fail(1, username="user29")
        assert self.admin_login("researcher", "pw") == 200


@override_settings(LISTENING_LOGIN_FAILURES=10, LISTENING_LOGIN_WINDOW_MINUTES=15, **FAST)
class ApiLoginThrottleTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        cache.clear()

    def get(self, username: str, password: str, address: str = "10.0.0.1") -> object:
        credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
        return APIClient().get(
            "/api/studies/", HTTP_AUTHORIZATION=f"Basic {credentials}", REMOTE_ADDR=address
        )

    def test_it_answers_429_after_ten_failures_even_with_the_right_password(self) -> None:
        for _ in range(10):
            # 403, not 401: SessionAuthentication comes first and sends no challenge.
            assert self.get("researcher", "wrong").status_code in (401, 403)
        response = self.get("researcher", "pw")
        assert response.status_code == 429
        assert response.data["code"] == "throttled"
        assert "Too many failed login attempts. Try again in 15 minutes." in response.data["detail"]
        assert 14 * 60 < int(response["Retry-After"]) <= 15 * 60

    def test_a_nul_in_the_credentials_is_a_failed_login_not_a_server_error(self) -> None:
        # PostgreSQL cannot look a username with a NUL up: it answered 500 there.
        for username, password in (("a\x00b", "pw"), ("researcher", "p\x00w")):
            response = self.get(username, password)
            assert response.status_code in (401, 403)
            assert response.data["code"] == "authentication_failed"

    def test_it_leaves_other_users_and_addresses_alone(self) -> None:
        for _ in range(10):
            self.get("researcher", "wrong")
        assert self.get("collaborator", "pw").status_code == 200
        assert self.get("researcher", "pw", address="10.0.0.2").status_code == 200

    def test_it_counts_admin_and_api_failures_together(self) -> None:
        for _ in range(5):
            self.get("researcher", "wrong")
        for _ in range(5):
            self.client.post(
                ADMIN_LOGIN, {"username": "researcher", "password": "x"}, REMOTE_ADDR="10.0.0.1"
            )
        assert self.get("researcher", "pw").status_code == 429
