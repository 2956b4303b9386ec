"""Recur settings: one module, every knob from the environment.

With no environment set Recur runs on SQLite in the project folder and runs Celery tasks
in-process, so it works on a bare machine. `DATABASE_URL` switches to PostgreSQL and
`CELERY_BROKER_URL` to a real broker and worker. `.env.example` lists every variable.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from config.env import env_bool, env_int, env_list, env_path_prefix, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent

# Off unless a developer asks for it (`make run` sets DJANGO_DEBUG=True, and so does the test
# run, tests/settings.py): a deployment that forgets the variable shows no technical pages
# and does not start without a secret key of its own.
DEBUG = env_bool("DJANGO_DEBUG", False)

_DEV_SECRET = "django-insecure-recur-development-only-key-change-me-0123456789"  # noqa: S105 (development only; production requires DJANGO_SECRET_KEY)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false. In development, set "
            "DJANGO_DEBUG=True (make run does)."
        )
    SECRET_KEY = _DEV_SECRET
elif len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters long.")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# Absolute address of this site, used for links in e-mails.
SITE_URL = env_url("RECUR_SITE_URL", ("http", "https")) or "http://127.0.0.1:8000"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "simple_history",
    "axes",
    "retros",
    "diagnosis",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.PrivateNoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "config.middleware.SignInAgainMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "retros.context_processors.access",
            ],
        },
    },
]

# Database: SQLite in the project folder unless DATABASE_URL names PostgreSQL.
DATABASE_URL = env_url("DATABASE_URL", ("postgres", "postgresql", "sqlite"))
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            # Persistent connections: a new connection per request halves throughput.
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 600, minimum=0),
            conn_health_checks=True,
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(BASE_DIR / "db.sqlite3"),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: the dashboard's aggregates are cached here. Redis when CACHE_URL is set.
CACHE_URL = env_url("CACHE_URL", ("redis", "rediss"))
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "TIMEOUT": 300,
        }
    }
    # Sessions read from Redis, written through to the database: a round trip to Redis
    # instead of a query on every request. Not with the local-memory cache, which each
    # process keeps for itself (a session ended in one would live on in the others).
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 2000},
            "TIMEOUT": 300,
        }
    }

# Authentication
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_AGE", 60 * 60 * 12, minimum=300)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
ADMIN_PATH = env_path_prefix("DJANGO_ADMIN_PATH", "admin")

# Login rate limiting (django-axes, config/login.py): an address is locked for 15 minutes
# after RECUR_LOGIN_FAILURE_LIMIT failures over any user names (stops spraying); a user name
# with more than RECUR_LOGIN_ACCOUNT_FAILURE_LIMIT failures from anywhere makes each further
# attempt wait 1 s, 2 s, 4 s ... at most RECUR_LOGIN_ACCOUNT_MAX_WAIT seconds (slows guessing
# one account from many addresses, but a stranger cannot lock its owner out).
AXES_HANDLER = "config.login.LoginAttemptsHandler"
AXES_FAILURE_LIMIT = env_int("RECUR_LOGIN_FAILURE_LIMIT", 20, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # refused attempts do not extend a lock
AXES_CLIENT_IP_CALLABLE = "config.login.client_address"
RECUR_LOGIN_ACCOUNT_FAILURE_LIMIT = env_int("RECUR_LOGIN_ACCOUNT_FAILURE_LIMIT", 5, minimum=1)
RECUR_LOGIN_ACCOUNT_MAX_WAIT = env_int("RECUR_LOGIN_ACCOUNT_MAX_WAIT", 60, minimum=1)
# Proxies in front of Recur that append to X-Forwarded-For (0: use the connection's address).
RECUR_TRUSTED_PROXIES = env_int("RECUR_TRUSTED_PROXIES", 0, minimum=0, maximum=5)
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLED = env_bool("RECUR_LOGIN_RATE_LIMIT", True)

# Security headers. Strict Content Security Policy: own origin only, scripts need a nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# No script reads the CSRF cookie: pages carry the token (base.html puts it in hx-headers).
CSRF_COOKIE_HTTPONLY = True
# A form whose token is missing or stale gets a page with a way back, not Django's bare one.
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 60 * 60 * 24 * 365, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Internationalisation. Recur speaks British English only, so the translation machinery is
# off (Django then skips a lookup per translated string and per formatted date: about a
# tenth of the retro board's time) and the en-GB formats are set here instead.
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
FIRST_DAY_OF_WEEK = 1  # Monday
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"]  # never the US month-first order
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
]

# Static files, served by WhiteNoise.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# E-mail: console by default, SMTP when EMAIL_HOST is set.
_email_host = env_str("EMAIL_HOST", "")
if _email_host:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email_host,
                "port": env_int("EMAIL_PORT", 587, minimum=1, maximum=65535),
                "username": env_str("EMAIL_HOST_USER", ""),
                "password": env_str("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": 20,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Recur <recur@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: without a broker, tasks run in-process: a findings recompute right after the commit
# that scheduled it (diagnosis.tasks.schedule_recompute), an import in a background thread
# (retros.import_jobs.import_job_start), never inside the web request's own work.
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", ("redis", "rediss", "amqp"))
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_url("CELERY_RESULT_BACKEND", ("redis", "rediss", "django-db")) or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else None
)
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task whose worker died unacknowledged goes back to the queue after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1)
}
# History imports: the largest upload accepted in the browser, and how long a running import
# may stay silent before it is marked failed.
RECUR_IMPORT_MAX_BYTES = env_int("RECUR_IMPORT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
RECUR_IMPORT_STALE_SECONDS = env_int("RECUR_IMPORT_STALE_SECONDS", 600, minimum=30)
# Memory a web process gives the matcher's in-memory indexes (retros.search), in MB: the
# organisations queried least recently are let go beyond it (about 80 MB per 100k raisings).
RECUR_MATCHER_MEMORY_MB = env_int("RECUR_MATCHER_MEMORY_MB", 200, minimum=1)
# Threads that embed texts in bulk (an import's items, `embed_all`), in a task or a command:
# by default the cores this process may run on, at most 4. A web request embeds one text on
# one thread whatever this says.
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
RECUR_EMBED_THREADS = env_int("RECUR_EMBED_THREADS", min(4, _CORES or 1), minimum=1, maximum=64)
# Whether a full load of an index has a snapshot of it written in the background (a Celery
# task; a thread of the process without a broker), and whether an index whose matching stamp
# moved is rebuilt in a thread while the old one keeps answering (else in the query).
RECUR_MATCHER_SNAPSHOTS = env_bool("RECUR_MATCHER_SNAPSHOTS", True)
RECUR_MATCHER_BACKGROUND_REBUILD = env_bool("RECUR_MATCHER_BACKGROUND_REBUILD", True)
# Where each host keeps a copy of the snapshots its processes read, so that a process started
# later maps the file instead of reading the blob from the database again ("" for none).
# Organisations (ids) whose matcher indexes gunicorn's master loads before the workers fork,
# so that the workers start with them (config/gunicorn.py): for one large organisation.
RECUR_MATCHER_PRELOAD = env_list("RECUR_MATCHER_PRELOAD", [])
# Live boards (retros.live): a board's event stream ends after this many seconds and the
# browser reconnects (a web thread is not held forever); between changes it sends a
# keep-alive and re-reads the board's version every tick.
RECUR_LIVE_STREAM_SECONDS: float = env_int("RECUR_LIVE_STREAM_SECONDS", 300, minimum=1)
RECUR_LIVE_TICK_SECONDS: float = env_int("RECUR_LIVE_TICK_SECONDS", 15, minimum=1)
RECUR_MATCHER_SNAPSHOT_DIR = env_str(
    "RECUR_MATCHER_SNAPSHOT_DIR", str(Path(tempfile.gettempdir()) / "recur-matcher-snapshots")
)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A finding whose recompute was lost with its worker is recomputed by the sweep below, at
# most RECUR_STALE_AFTER_SECONDS + RECUR_STALE_SWEEP_SECONDS after the change; the visibility
# timeout stays long, since a shorter one would hand still-running long imports to a second
# worker.
RECUR_STALE_AFTER_SECONDS = env_int("RECUR_STALE_AFTER_SECONDS", 120, minimum=10)
CELERY_BEAT_SCHEDULE = {
    "recompute-all-findings-nightly": {
        "task": "diagnosis.tasks.recompute_all_organizations",
        "schedule": crontab(hour=2, minute=30),
    },
    "recompute-stale-findings": {
        "task": "diagnosis.tasks.recompute_stale_findings",
        "schedule": timedelta(seconds=env_int("RECUR_STALE_SWEEP_SECONDS", 300, minimum=30)),
    },
    "send-weekly-digests": {
        "task": "diagnosis.tasks.send_weekly_digests",
        "schedule": crontab(day_of_week="mon", hour=7, minute=0),
    },
}

LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"DJANGO_LOG_LEVEL={LOG_LEVEL!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
