"""Settings for the listening-test platform, all from environment variables.

Local defaults are safe: SQLite in ./var, DEBUG on only when DJANGO_DEBUG is unset
and no production flag is given. See README "Configuration" for every variable.
"""

import ipaddress
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_list, env_str
from config.services import cache_from_url, media_storage, task_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("APP_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", True)
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-0123456789abcdefghijklmnop"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Before the task apps: its db_worker command (recovering crashed workers' tasks)
    # replaces theirs (the first app listed wins).
    "listening",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "listening.platform.middleware.ContentSecurityPolicyMiddleware",
    "listening.platform.middleware.PrivateCacheMiddleware",
    "listening.platform.middleware.NulCharacterMiddleware",
    "listening.platform.database_outage.DatabaseOutageMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite by default (WAL, busy timeout, immediate transactions for concurrent writers);
# any database through DATABASE_URL, e.g. postgres://user:pass@host/db.
_default_db = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
# Connections are kept for DATABASE_CONN_MAX_AGE seconds (a new one per request costs about
# a millisecond) and checked before reuse, so a database restart costs no request an error.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", _default_db),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A fresh checkout has no ./var yet: create the database's folder (make demo needs it).
    Path(str(DATABASES["default"]["NAME"])).parent.mkdir(parents=True, exist_ok=True)
    # Write transactions queue on a file lock rather than in SQLite's sleeping busy handler.
    DATABASES["default"]["ENGINE"] = "config.sqlite_backend"
    # Tests use an in-memory database (said explicitly: pytest-django recognises the
    # stock engine's default only by its name).
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_float("SQLITE_BUSY_TIMEOUT", 20.0),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
# The languages of the participant pages' built-in texts (locale/<code>/LC_MESSAGES/django.po,
# compiled by `make messages`). A study offers some of them (Study.languages); the participant's
# browser picks one per session (listening.participant.languages).
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"  # never served directly: audio goes through opaque per-session keys
STORAGES = {
    "default": media_storage(env_str("MEDIA_STORAGE", "filesystem")),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The workspace's sign-in (the admin keeps its own login page for power users).
LOGIN_URL = "workspace:login"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "listening.platform.authentication.ThrottledBasicAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["listening.platform.throttling.ApiUserRateThrottle"],
    # Requests per user (see LISTENING_API_RATE below; read on each request).
    "DEFAULT_THROTTLE_RATES": {"user": None},
    # Researcher rights (listening.research.researchers), not merely a login.
    "DEFAULT_PERMISSION_CLASSES": ["listening.research.api.permissions.IsResearcher"],
    "EXCEPTION_HANDLER": "listening.research.api.exceptions.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Listening-test platform API",
    "DESCRIPTION": "Researcher API: studies, tracks, stimuli and audio upload.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets are served from this server (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "StudyStatusEnum": "listening.models.Study.Status",
        "StimulusStatusEnum": "listening.models.Stimulus.Status",
        "StimulusRoleEnum": "listening.models.Stimulus.Role",
        "UploadRoleEnum": [("mix", "Mix"), ("master", "Master")],
    },
}

# Background work: the database backend with its worker is the embedded default;
# TASKS_BACKEND=rq with REDIS_URL moves it to Redis (see config/services.py).
REDIS_URL = env_str("REDIS_URL", "")
_tasks, RQ_QUEUES, _task_apps = task_settings(env_str("TASKS_BACKEND", "database"), REDIS_URL)
TASKS = {"default": _tasks}
INSTALLED_APPS += _task_apps

# Crashed workers (listening/platform/task_recovery.py): a db_worker that has not beaten for
# this many seconds is gone (on its own machine, at once when its process has ended), and its
# running task is queued again, up to this many attempts in all, then failed with its stimuli.
LISTENING_WORKER_STALE_SECONDS = env_int("LISTENING_WORKER_STALE_SECONDS", 60)
LISTENING_TASK_ATTEMPTS = env_int("LISTENING_TASK_ATTEMPTS", 3)

# The workspace's live dashboard refits the report's model on the answers so far at most
# this often per study (listening/research/workspace/monitor.py); it is cached in between.
LISTENING_MONITOR_ESTIMATE_SECONDS = env_int("LISTENING_MONITOR_ESTIMATE_SECONDS", 60)

# The cache holds the rate limits (logins, new sessions, API): shared by every process
# that shares the database by default; redis://... for several servers (config/services.py).
CACHES = {"default": cache_from_url(env_str("CACHE_URL", "db://listening_cache"))}

# Upload limits for audio. Uploads above FILE_UPLOAD_MAX_MEMORY_SIZE go to a temporary file.
AUDIO_UPLOAD_MAX_BYTES = env_int("AUDIO_UPLOAD_MAX_BYTES", 200 * 1024 * 1024)
# What decoding an upload may cost, checked from its header before any sample is decoded
# (a few kB of FLAC can state gigabytes of audio): its duration, its sample rate, and the
# size of the decoded float64 array (frames x channels x 8 bytes).
AUDIO_MAX_SECONDS = env_int("AUDIO_MAX_SECONDS", 30 * 60)
AUDIO_MAX_SAMPLE_RATE = env_int("AUDIO_MAX_SAMPLE_RATE", 192_000)
AUDIO_MAX_DECODED_BYTES = env_int("AUDIO_MAX_DECODED_BYTES", 2**30)
# Decoded audio one background task holds at once: a track's mix and one of its masters.
AUDIO_PREPARATION_MAX_BYTES = env_int("AUDIO_PREPARATION_MAX_BYTES", 2 * 2**30)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The first handler stops reading an upload as soon as it passes AUDIO_UPLOAD_MAX_BYTES.
FILE_UPLOAD_HANDLERS = [
    "listening.stimuli.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Playback sample rates a study may choose (every prepared file of a study has one rate).
try:
    LISTENING_SAMPLE_RATES = [
        int(r) for r in env_list("LISTENING_SAMPLE_RATES", ["44100", "48000"])
    ]
except ValueError:
    raise ImproperlyConfigured(
        "LISTENING_SAMPLE_RATES must be whole numbers of Hz, comma-separated"
    ) from None

# Independently dithered copies of every prepared file; each participant session is served
# one, so sessions do not share a file's bytes (2 to 32; storage grows with the count).
LISTENING_PLAYBACK_VARIANTS = env_int("LISTENING_PLAYBACK_VARIANTS", 8)
if not 2 <= LISTENING_PLAYBACK_VARIANTS <= 32:
    raise ImproperlyConfigured("LISTENING_PLAYBACK_VARIANTS must be between 2 and 32")

# Participants: sessions expire after this many idle minutes; new sessions per address and hour.
LISTENING_SESSION_IDLE_MINUTES = env_int("LISTENING_SESSION_IDLE_MINUTES", 48 * 60)
LISTENING_SESSION_STARTS_PER_HOUR = env_int("LISTENING_SESSION_STARTS_PER_HOUR", 30)
CSRF_FAILURE_VIEW = "listening.participant.errors.csrf_failure"
# What one participant session may write (answers and listening events): a sustained
# rate of requests per second with a burst, per worker process (429 over it), and caps
# on events per request, per trial and per session and on answers per trial (413).
LISTENING_PARTICIPANT_RATE = env_float("LISTENING_PARTICIPANT_RATE", 10.0)
LISTENING_PARTICIPANT_BURST = env_int("LISTENING_PARTICIPANT_BURST", 40)
LISTENING_EVENTS_PER_REQUEST = env_int("LISTENING_EVENTS_PER_REQUEST", 200)
LISTENING_EVENTS_PER_TRIAL = env_int("LISTENING_EVENTS_PER_TRIAL", 5000)
LISTENING_EVENTS_PER_SESSION = env_int("LISTENING_EVENTS_PER_SESSION", 50000)
LISTENING_ANSWERS_PER_TRIAL = env_int("LISTENING_ANSWERS_PER_TRIAL", 5000)
for _name in (
    "LISTENING_PARTICIPANT_RATE",
    "LISTENING_PARTICIPANT_BURST",
    "LISTENING_EVENTS_PER_REQUEST",
    "LISTENING_EVENTS_PER_TRIAL",
    "LISTENING_EVENTS_PER_SESSION",
    "LISTENING_ANSWERS_PER_TRIAL",
):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name}={globals()[_name]!r} must be greater than 0")

# Researcher API requests per user (anonymous callers: per address), e.g. "1200/minute".
LISTENING_API_RATE = env_str("LISTENING_API_RATE", "1200/minute")
# Failed logins (admin and API Basic auth) allowed per username and address in the window.
LISTENING_LOGIN_FAILURES = env_int("LISTENING_LOGIN_FAILURES", 10)
# Failed logins allowed per address over all usernames in the window (password spraying).
LISTENING_LOGIN_FAILURES_PER_ADDRESS = env_int("LISTENING_LOGIN_FAILURES_PER_ADDRESS", 30)
LISTENING_LOGIN_WINDOW_MINUTES = env_int("LISTENING_LOGIN_WINDOW_MINUTES", 15)
# Proxies whose X-Forwarded-For is believed: a count ("1") or addresses/networks
# ("10.0.0.1,172.16.0.0/12"). Empty (the default): the client is REMOTE_ADDR.
_proxies = env_list("LISTENING_TRUSTED_PROXIES", [])
LISTENING_TRUSTED_PROXIES: int | list[str]
if len(_proxies) == 1 and _proxies[0].isdigit():
    LISTENING_TRUSTED_PROXIES = int(_proxies[0])
else:
    try:
        LISTENING_TRUSTED_PROXIES = [str(ipaddress.ip_network(p, strict=False)) for p in _proxies]
    except ValueError:
        raise ImproperlyConfigured(
            f"LISTENING_TRUSTED_PROXIES={','.join(_proxies)!r} must be a proxy count "
            "or comma-separated addresses/networks"
        ) from None
# Content-Security-Policy of every response (see listening/platform/middleware.py).
LISTENING_CSP = env_str(
    "LISTENING_CSP",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'",
)

# Production hardening (active whenever DEBUG is off).
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
