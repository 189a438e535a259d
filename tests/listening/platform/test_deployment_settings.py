"""Production settings: `check --deploy` is clean, and every service switch is validated."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.services import cache_from_url, media_storage, task_settings

REPO = Path(__file__).resolve().parents[3]
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "listening.example.org",
}
SEVERAL_SERVERS = {
    "DATABASE_URL": "postgres://listening:pw@db.example.org/listening",
    "CACHE_URL": "redis://redis.example.org:6379/1",
    "TASKS_BACKEND": "rq",
    "REDIS_URL": "redis://redis.example.org:6379/0",
    "MEDIA_STORAGE": "s3",
    "AWS_STORAGE_BUCKET_NAME": "listening-media",
    "AWS_S3_ENDPOINT_URL": "https://s3.example.org",
}


@pytest.mark.parametrize("extra", [{}, SEVERAL_SERVERS], ids=["one server", "several servers"])
def test_check_deploy_is_clean_with_production_settings(
    extra: dict[str, str], tmp_path: Path
) -> None:
    env = {**os.environ, **PRODUCTION, "APP_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)  # the suite's own database is not the deployment's
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests (tests/conftest.py)
    env.update(extra)
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_cache_urls() -> None:
    assert cache_from_url("db://listening_cache")["LOCATION"] == "listening_cache"
    assert cache_from_url("redis://h:6379/1")["BACKEND"].endswith("RedisCache")
    assert cache_from_url("locmem://")["BACKEND"].endswith("LocMemCache")
    assert cache_from_url("file:///var/cache/x")["LOCATION"] == "/var/cache/x"
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL='memcached://h'"):
        cache_from_url("memcached://h")


def test_task_backends() -> None:
    assert task_settings("database", "")[0]["BACKEND"] == "django_tasks_db.DatabaseBackend"
    tasks, queues, apps = task_settings("rq", "redis://r:6379/0")
    assert tasks == {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}
    assert queues["default"]["URL"] == "redis://r:6379/0"
    assert apps == ["django_rq", "django_tasks_rq"]
    with pytest.raises(ImproperlyConfigured, match="needs REDIS_URL"):
        task_settings("rq", "")
    with pytest.raises(ImproperlyConfigured, match="TASKS_BACKEND='celery'"):
        task_settings("celery", "")


def test_media_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    assert media_storage("filesystem")["BACKEND"].endswith("FileSystemStorage")
    with pytest.raises(ImproperlyConfigured, match="needs AWS_STORAGE_BUCKET_NAME"):
        media_storage("s3")
    monkeypatch.setenv("AWS_STORAGE_BUCKET_NAME", "b")
    monkeypatch.setenv("AWS_S3_ENDPOINT_URL", "https://s3.example.org")
    options = media_storage("s3")["OPTIONS"]
    assert options["bucket_name"] == "b"
    assert options["endpoint_url"] == "https://s3.example.org"
    assert options["file_overwrite"] is False
    with pytest.raises(ImproperlyConfigured, match="MEDIA_STORAGE='ftp'"):
        media_storage("ftp")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LISTENING_PARTICIPANT_RATE", "0", "LISTENING_PARTICIPANT_RATE=0.0 must be greater"),
        ("LISTENING_PARTICIPANT_BURST", "ten", "LISTENING_PARTICIPANT_BURST='ten' must be an"),
        ("LISTENING_EVENTS_PER_TRIAL", "-5", "LISTENING_EVENTS_PER_TRIAL=-5 must be greater"),
    ],
)
def test_participant_limits_must_be_positive(
    name: str, value: str, message: str, tmp_path: Path
) -> None:
    env = {**os.environ, "APP_VAR_DIR": str(tmp_path), name: value}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert message in done.stderr


def test_numeric_variables_take_their_default_when_empty_and_refuse_other_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from config.env import env_float, env_int

    monkeypatch.setenv("LISTENING_TEST_NUMBER", "  ")
    assert env_int("LISTENING_TEST_NUMBER", 7) == 7
    assert env_float("LISTENING_TEST_NUMBER", 0.5) == 0.5
    monkeypatch.setenv("LISTENING_TEST_NUMBER", "12")
    assert env_int("LISTENING_TEST_NUMBER", 7) == 12
    assert env_float("LISTENING_TEST_NUMBER", 0.5) == 12.0
    monkeypatch.setenv("LISTENING_TEST_NUMBER", "1.5")
    assert env_float("LISTENING_TEST_NUMBER", 0.5) == 1.5
    with pytest.raises(ImproperlyConfigured, match=r"NUMBER='1\.5' must be an integer"):
        env_int("LISTENING_TEST_NUMBER", 7)
    monkeypatch.setenv("LISTENING_TEST_NUMBER", "many")
    with pytest.raises(ImproperlyConfigured, match="LISTENING_TEST_NUMBER='many' must be a number"):
        env_float("LISTENING_TEST_NUMBER", 0.5)
