"""The shared services a deployment plugs in, chosen by environment variables.

One server needs nothing but the defaults: the database doubles as the cache (rate
limits shared by every gunicorn worker) and as the task queue (``db_worker``), and
media files live on the local disk. Several app servers share PostgreSQL and point
these at shared services instead:

- ``CACHE_URL``: ``db://TABLE`` (default ``db://listening_cache``), ``redis://HOST:PORT/N``,
  ``locmem://`` (one process only) or ``file:///PATH`` (one machine only).
- ``TASKS_BACKEND``: ``database`` (default; run ``manage.py db_worker``), ``rq`` (Redis at
  ``REDIS_URL``; run ``manage.py rqworker --job-class django_tasks_rq.Job``),
  ``immediate`` (in the request; tests), or a backend's dotted path.
- ``MEDIA_STORAGE``: ``filesystem`` (default, ``DJANGO_MEDIA_ROOT``) or ``s3`` (any
  S3-compatible store through django-storages: ``AWS_STORAGE_BUCKET_NAME``, and
  ``AWS_S3_ENDPOINT_URL``, ``AWS_S3_REGION_NAME``, ``AWS_ACCESS_KEY_ID``,
  ``AWS_SECRET_ACCESS_KEY``, ``AWS_LOCATION`` as needed).

Each function returns plain settings values and raises ImproperlyConfigured with the
variable's name when a value cannot work.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from config.env import env_str

TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
    "dummy": "django_tasks.backends.dummy.DummyBackend",
}


def cache_from_url(url: str) -> dict[str, Any]:
    """The ``CACHES["default"]`` entry for a cache URL."""
    parts = urlsplit(url)
    if parts.scheme == "db":
        table = (parts.netloc + parts.path).strip("/") or "listening_cache"
        return {"BACKEND": "config.database_cache.DatabaseCache", "LOCATION": table}
    if parts.scheme in ("redis", "rediss", "unix"):
        return {"BACKEND": "config.redis_cache.RedisCache", "LOCATION": url}
    if parts.scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if parts.scheme == "file" and parts.path:
        return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": parts.path}  # fmt: skip
    raise ImproperlyConfigured(
        f"CACHE_URL={url!r} must start with db://, redis://, rediss://, locmem:// or file:///"
    )


def task_settings(name: str, redis_url: str) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """``TASKS["default"]``, ``RQ_QUEUES`` and the extra apps for a task backend."""
    backend = TASK_BACKENDS.get(name, name)
    if "." not in backend:
        raise ImproperlyConfigured(
            f"TASKS_BACKEND={name!r} must be one of {sorted(TASK_BACKENDS)} or a dotted path"
        )
    if backend != TASK_BACKENDS["rq"]:
        return {"BACKEND": backend}, {}, []
    if not redis_url:
        raise ImproperlyConfigured(
            "TASKS_BACKEND=rq needs REDIS_URL, e.g. redis://localhost:6379/0"
        )
    # Preparing a study's audio can take minutes: give a job an hour before RQ kills it.
    queues = {"default": {"URL": redis_url, "DEFAULT_TIMEOUT": 3600}}
    return (
        {"BACKEND": backend, "QUEUES": ["default"]},
        queues,
        ["django_rq", "django_tasks_rq"],
    )


def media_storage(kind: str) -> dict[str, Any]:
    """``STORAGES["default"]`` for ``MEDIA_STORAGE``."""
    if kind == "filesystem":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if kind != "s3":
        raise ImproperlyConfigured(f"MEDIA_STORAGE={kind!r} must be 'filesystem' or 's3'")
    bucket = env_str("AWS_STORAGE_BUCKET_NAME")
    if not bucket:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME")
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "location": env_str("AWS_LOCATION", "media"),
        # Never replace a stored file: originals are kept unchanged, and a name that
        # exists already gets a suffix, as on the local disk.
        "file_overwrite": False,
        # Private objects; nothing is ever linked directly (audio goes through /a/<key>).
        "default_acl": None,
        "querystring_auth": True,
    }
    for option, variable in (
        ("endpoint_url", "AWS_S3_ENDPOINT_URL"),
        ("region_name", "AWS_S3_REGION_NAME"),
        ("access_key", "AWS_ACCESS_KEY_ID"),
        ("secret_key", "AWS_SECRET_ACCESS_KEY"),
    ):
        value = env_str(variable)
        if value:
            options[option] = value
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
