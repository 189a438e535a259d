"""Who is asking, and how often: client addresses behind proxies, login, API and
participant limits.

The address limits key on :func:`client_address`, which believes ``X-Forwarded-For``
only when the request came through a proxy named in ``LISTENING_TRUSTED_PROXIES``;
anyone else could write any address there and escape every per-address limit. The
participants' write limit keys on their session (:class:`SessionRateLimiter`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from rest_framework.throttling import UserRateThrottle


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def trusted_proxies() -> int | list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The setting as a proxy count or a list of networks (a bare address is a /32 or /128)."""
    value = settings.LISTENING_TRUSTED_PROXIES
    if isinstance(value, int):
        return value
    return [ipaddress.ip_network(item, strict=False) for item in value]


def client_address(request: Any) -> str:
    """Return the address of the client that sent the request, as far as it can be trusted.

    With a list of trusted proxies, ``X-Forwarded-For`` is read from the right, skipping
    trusted proxies, and only when ``REMOTE_ADDR`` is itself trusted. With a count N,
    the deployment promises exactly N proxies in front: the client is the N-th entry
    from the right. With no proxies (the default), ``REMOTE_ADDR`` is the client.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = trusted_proxies()
    forwarded = [item.strip() for item in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [item for item in forwarded if item]
    if isinstance(proxies, int):
        if proxies <= 0 or not forwarded:
            return remote
        chosen = forwarded[-min(proxies, len(forwarded))]
        return str(_parse_ip(chosen) or remote)
    if not proxies:
        return remote

    def trusted(text: str) -> bool:
        ip = _parse_ip(text)
        return ip is not None and any(ip in network for network in proxies)

    if not trusted(remote):
        return remote
    for item in reversed(forwarded):
        ip = _parse_ip(item)
        if ip is None:  # garbage: stop believing the header here
            break
        if not trusted(item):
            return str(ip)
    return remote


class LoginThrottle:
    """Count failed logins per username and address, and per address alone; refuse
    further tries for a while when either passes its limit.

    The per-address cap stops password spraying (one password tried against many
    usernames from one address), which a per-username count never sees; a successful
    login clears only its username's count, so one known account cannot reset the cap.
    The clock is injectable so tests can move time without sleeping. Failures are kept
    as timestamps in the shared cache (a sliding window), so the limits hold across
    processes and servers that share the cache (see CACHE_URL).
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    @property
    def limit(self) -> int:
        return int(settings.LISTENING_LOGIN_FAILURES)

    @property
    def address_limit(self) -> int:
        return int(settings.LISTENING_LOGIN_FAILURES_PER_ADDRESS)

    @property
    def window(self) -> float:
        return float(settings.LISTENING_LOGIN_WINDOW_MINUTES) * 60

    @staticmethod
    def key(username: str, address: str) -> str:
        # Hashed: usernames are user input and cache keys have a restricted alphabet.
        digest = hashlib.sha256(f"{username.lower()}\0{address}".encode()).hexdigest()
        return f"listening:login-failures:{digest}"

    @staticmethod
    def address_key(address: str) -> str:
        digest = hashlib.sha256(address.encode()).hexdigest()
        return f"listening:login-failures-address:{digest}"

    def _recent(self, key: str) -> list[float]:
        return self._within_window(cache.get(key))

    def _within_window(self, failures: list[float] | None) -> list[float]:
        now = self.clock()
        return [t for t in failures or [] if now - t < self.window]

    def _wait(self, key: str, limit: int) -> float:
        failures = self._recent(key)
        if len(failures) < limit:
            return 0.0
        return max(0.0, failures[-limit] + self.window - self.clock())

    def _count(self, key: str, limit: int) -> None:
        def add(failures: list[float] | None) -> list[float]:
            return [*self._within_window(failures), self.clock()][-limit:]

        timeout = math.ceil(self.window)
        update = getattr(cache, "update", None)  # atomic: config.database_cache, .redis_cache
        if update is not None:
            update(key, add, timeout=timeout)
        else:  # one process's memory, files: parallel failures may overwrite each other
            cache.set(key, add(cache.get(key)), timeout=timeout)

    def wait(self, username: str, address: str) -> float:
        """Seconds until this username may try again from this address (0 when allowed)."""
        return max(
            self._wait(self.key(username, address), self.limit),
            self._wait(self.address_key(address), self.address_limit),
        )

    def failed(self, username: str, address: str) -> None:
        self._count(self.key(username, address), self.limit)
        self._count(self.address_key(address), self.address_limit)

    def succeeded(self, username: str, address: str) -> None:
        cache.delete(self.key(username, address))

    @staticmethod
    def message(wait: float) -> str:
        minutes = max(1, math.ceil(wait / 60))
        return (
            "Too many failed login attempts. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )


login_throttle = LoginThrottle()


def _username(credentials: dict[str, Any]) -> str:
    return str(credentials.get("username") or credentials.get("email") or "")


@receiver(user_login_failed, dispatch_uid="listening.login_failed")
def _count_failure(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    if request is not None:
        login_throttle.failed(_username(credentials), client_address(request))


@receiver(user_logged_in, dispatch_uid="listening.logged_in")
def _clear_failures(sender: Any, request: Any, user: Any, **kw: Any) -> None:
    if request is not None:
        login_throttle.succeeded(user.get_username(), client_address(request))


class ApiUserRateThrottle(UserRateThrottle):
    """DRF's per-user rate limit; anonymous callers are keyed on the trusted client address."""

    def get_rate(self) -> str | None:
        # Read on each request (DRF reads its rates once, at import).
        return settings.LISTENING_API_RATE or None

    def get_ident(self, request: Any) -> str:
        return client_address(request)


class SessionRateLimiter:
    """A token bucket per participant session: ``LISTENING_PARTICIPANT_BURST`` requests at
    once, refilled at ``LISTENING_PARTICIPANT_RATE`` a second.

    Kept in this process's memory on purpose: it answers before the request touches the
    database or the cache (the default cache is a database table, and counting a flood
    there would be the write load it is meant to stop), so a refused request costs
    microseconds. The limit therefore holds per worker process: a session spread over
    N processes gets at most N times the rate. The clock is injectable for tests.
    """

    #: Sessions remembered before the idle ones (bucket full again) are forgotten.
    MAX_SESSIONS = 50_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # token: (tokens, at)
        self._lock = threading.Lock()

    def wait(self, token: str) -> float:
        """Take one request from ``token``'s bucket: 0 when allowed, else seconds to wait."""
        rate = float(settings.LISTENING_PARTICIPANT_RATE)
        burst = float(settings.LISTENING_PARTICIPANT_BURST)
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(token, (burst, now))
            tokens = min(burst, tokens + (now - at) * rate)
            if tokens < 1.0:
                self._buckets[token] = (tokens, now)
                return (1.0 - tokens) / rate
            if token not in self._buckets and len(self._buckets) >= self.MAX_SESSIONS:
                self._forget_idle(now, rate, burst)
            self._buckets[token] = (tokens - 1.0, now)
            return 0.0

    def _forget_idle(self, now: float, rate: float, burst: float) -> None:
        full = burst / rate  # a bucket untouched this long is full again: nothing to keep
        idle = [t for t, (_, at) in self._buckets.items() if now - at >= full]
        for token in idle or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[token]

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


session_rate_limiter = SessionRateLimiter()
