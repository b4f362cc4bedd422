"""Settings: everything from the environment with safe defaults (docs/architecture.md §8)."""
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url

from generation.pipeline import limits as video_limits  # Django-free: the video limits' defaults

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_list(name: str, default: str = "") -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


# Fail closed: production behaviour unless DEBUG=1 is asked for (`make run` and the test settings do).
DEBUG = env_bool("DEBUG", False)
DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
MIN_SECRET_KEY_LENGTH = 50  # as Django's own deploy check (security.W009)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if DEBUG and not SECRET_KEY:
    SECRET_KEY = DEV_SECRET_KEY
elif not DEBUG and (len(SECRET_KEY) < MIN_SECRET_KEY_LENGTH or SECRET_KEY == DEV_SECRET_KEY
                    or SECRET_KEY.startswith("django-insecure")):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"Set SECRET_KEY to a random string of at least {MIN_SECRET_KEY_LENGTH} characters (DEBUG is off), e.g. "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served locally: no CDN
    "django_q",
    "axes",
    "avatars",
    "generation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "avatarsite.csp.ContentSecurityPolicyMiddleware",  # every page; a response's own policy (downloads) stays
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "avatarsite.i18n.ApiLanguageMiddleware",  # the API defaults to English, pages to Russian
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "avatarsite.body_limit.RequestBodyLimitMiddleware",  # before anything reads the body (CSRF's view check)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "generation.web.error_pages.StorageUnavailableMiddleware",  # a bucket that is down: 503, not 500
    "axes.middleware.AxesMiddleware",  # last: turns a lockout flagged during the view into its answer
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out usernames and addresses
    "django.contrib.auth.backends.ModelBackend",
]

if not DEBUG:  # runserver serves static files in development; whitenoise does in production
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "avatarsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context.accounts",
            ],
        },
    },
]

WSGI_APPLICATION = "avatarsite.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the django-q2 ORM broker share this file (docs/architecture.md §10).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test_db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", "Русский"), ("kk", "Қазақша"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["avatarsite.formats"]  # Kazakh dates and numbers (Django has none)
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

# Object storage (scale-out without a shared disk): set S3_BUCKET and every uploaded, prepared and
# generated file lives in that S3-compatible bucket (django-storages), private, reached only through
# owner-checking views. Unset: files stay under MEDIA_ROOT and boto3 is never imported.
S3_BUCKET = os.environ.get("S3_BUCKET", "")
S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL", "")  # empty = AWS; e.g. http://minio.internal:9000
S3_REGION = os.environ.get("S3_REGION", "")
S3_ACL = os.environ.get("S3_ACL", "private")  # "" sends none (buckets with ACLs disabled stay private)
S3_PRESIGN_SECONDS = env_int("S3_PRESIGN_SECONDS", 300)  # lifetime of a download link handed to a browser
S3_PROXY_DOWNLOADS = env_bool("S3_PROXY_DOWNLOADS", False)  # stream through the web process instead of redirecting
S3_TIMEOUT_SECONDS = env_int("S3_TIMEOUT_SECONDS", 10)  # connect/read timeout: a dead bucket fails fast
# Workers keep local copies of what they read from the bucket (avatars' photos and prepared clips),
# keyed by name and size, so a clip is fetched once per worker machine, not once per request.
STORAGE_CACHE_DIR = Path(os.environ.get("STORAGE_CACHE_DIR", "") or Path(tempfile.gettempdir()) / "avatar-storage-cache")
STORAGE_CACHE_MB = env_int("STORAGE_CACHE_MB", 4096)  # beyond it, least recently used copies go
# Origins the pages may load videos and pictures from besides the site (and the bucket): e.g. a CDN.
CSP_EXTRA_MEDIA_ORIGINS = env_list("CSP_EXTRA_MEDIA_ORIGINS")
if S3_BUCKET:
    from avatarsite.s3 import storage_config

    STORAGES["default"] = storage_config(bucket=S3_BUCKET, endpoint_url=S3_ENDPOINT_URL, region=S3_REGION, acl=S3_ACL,
                                         presign_seconds=S3_PRESIGN_SECONDS, timeout=S3_TIMEOUT_SECONDS)

# Retention and quotas (0 = off).
RESULT_RETENTION_DAYS = env_int("RESULT_RETENTION_DAYS", 0)  # result files older than this are removed
# Stored files no row references (a crash between saving and recording) are removed by the workers'
# hourly sweep and `manage.py sweep_orphans` once older than this (younger ones may be in flight).
ORPHAN_GRACE_MINUTES = env_int("ORPHAN_GRACE_MINUTES", 120)
USER_DAILY_SECONDS = env_int("USER_DAILY_SECONDS", 0)  # seconds of video a user may have made per UTC day
WEIGHTS_DIR = Path(os.environ.get("WEIGHTS_DIR", BASE_DIR / "weights"))

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "generate"
LOGOUT_REDIRECT_URL = "login"

# Request bodies: MAX_BODY_BYTES anywhere; file uploads up to their kind's limit, on their routes only
# (avatarsite.body_limit). Set the reverse proxy's limit (nginx client_max_body_size) to the largest.
MAX_BODY_BYTES = env_int("MAX_BODY_BYTES", 1024 * 1024)
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)  # an avatar photo
MAX_IMAGE_PIXELS = env_int("MAX_IMAGE_PIXELS", 40_000_000)
MAX_VIDEO_BYTES = env_int("MAX_VIDEO_BYTES", 200 * 1024 * 1024)  # an avatar video: a minute of phone video
MAX_VIDEO_SECONDS = env_int("MAX_VIDEO_SECONDS", video_limits.MAX_CLIP_SECONDS)
MAX_VIDEO_SIDE = env_int("MAX_VIDEO_SIDE", video_limits.MAX_SOURCE_SIDE)  # pixels on the long side
MAX_OWN_AVATARS = env_int("MAX_OWN_AVATARS", 20)  # per user
MAX_PREPARING_PER_USER = env_int("MAX_PREPARING_PER_USER", 2)  # own avatars waiting for or in preparation; more → 429
AVATAR_UPLOAD_RATE = os.environ.get("AVATAR_UPLOAD_RATE", "20/hour")  # own avatars added, pages and API together
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES  # non-file form fields
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # larger files spool to FILE_UPLOAD_TEMP_DIR
FILE_UPLOAD_TEMP_DIR = os.environ.get("FILE_UPLOAD_TEMP_DIR") or None

# Generation.
TTS_BACKEND = os.environ.get("TTS_BACKEND", "espeak")
TTS_REMOTE_URL = os.environ.get("TTS_REMOTE_URL", "")
TTS_REMOTE_TOKEN = os.environ.get("TTS_REMOTE_TOKEN", "")
# the remote service's JSON field for the speaking rate; empty (the reference contract): a rate ≠ 1.0 is refused
TTS_REMOTE_RATE_FIELD = os.environ.get("TTS_REMOTE_RATE_FIELD", "")
LIPSYNC_ENGINE = os.environ.get("LIPSYNC_ENGINE", "auto")
# auto: bf16 where the CPU has native bfloat16 and a self-test at worker start agrees with fp32; fp32 | bf16 force
WAV2LIP_PRECISION = os.environ.get("WAV2LIP_PRECISION", "auto")
MAX_TEXT_LENGTH = env_int("MAX_TEXT_LENGTH", 1000)
MAX_SPEECH_SECONDS = env_int("MAX_SPEECH_SECONDS", 180)  # per request: refused when the text's estimate is over
GENERATION_TIMEOUT = env_int("GENERATION_TIMEOUT", 600)  # seconds one job may run
SYNC_GENERATE_TIMEOUT = env_int("SYNC_GENERATE_TIMEOUT", 120)  # POST /api/generate waits this long
TORCH_THREADS = env_int("TORCH_THREADS", 0)  # 0 = cores available to the worker
MAX_AUDIO_BYTES = env_int("MAX_AUDIO_BYTES", 20 * 1024 * 1024)  # an uploaded recording, in place of text
MAX_AUDIO_SECONDS = env_int("MAX_AUDIO_SECONDS", 120)
MAX_ACTIVE_PER_USER = env_int("MAX_ACTIVE_PER_USER", 5)  # queued + running at once; more → 429
GENERATION_RATE = os.environ.get("GENERATION_RATE", "30/min")  # creations per user, pages and API together
# Whose job a worker runs next: "fair" = per-user round robin over generations and avatar preparations
# (generation.worker.scheduler); "fifo" = oldest first, whoever it belongs to (for comparison: bench/fairness.py).
SCHEDULING = os.environ.get("SCHEDULING", "fair")

# Absolute links in what leaves the site (webhook payloads): scheme, host and port clients reach it at.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:3000").rstrip("/")

# Webhooks (callback_url): refused when the host resolves to a loopback, private, link-local ... address,
# at submission and again at delivery, unless WEBHOOK_ALLOW_PRIVATE=1 (a receiver on your own network).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT") or 10)  # seconds: read timeout of one attempt
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 5)
# Attempt n+1 waits WEBHOOK_BACKOFF_SECONDS * 2**(n-1) after attempt n: 40, 80, 160, 320 s = 10 minutes.
WEBHOOK_BACKOFF_SECONDS = float(os.environ.get("WEBHOOK_BACKOFF_SECONDS") or 40)

REDIS_URL = os.environ.get("REDIS_URL", "")
Q_CLUSTER = {
    "name": "avatar",
    "workers": env_int("Q_WORKERS", 1),  # one per 2 cores: each holds its own pre-loaded pipeline
    # Pre-loaded models live in the worker process: recycle rarely (docs/architecture.md §10).
    "recycle": env_int("Q_RECYCLE", 1000),
    "timeout": GENERATION_TIMEOUT,
    # django-q2 requires retry > timeout, else a running job is handed out twice.
    "retry": max(env_int("Q_RETRY", GENERATION_TIMEOUT + 30), GENERATION_TIMEOUT + 1),
    "max_attempts": 1,
    "queue_limit": 4,
    "ack_failures": True,
    "catch_up": False,
    "poll": 0.2,
    "save_limit": 250,
    "label": "Django Q",
}
# Throttle counters live in the cache, which every web process must share: Redis when there is one,
# else a table in the database (created by a migration, so `migrate` is the only set-up step).
CACHE_TABLE = "avatar_cache"
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    Q_CLUSTER["orm"] = "default"
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": CACHE_TABLE}}

# A worker writes a heartbeat on the job it runs; a `running` job whose heartbeat is older than
# JOB_STALE_SECONDS lost its worker and is taken over (re-run once, then failed).
HEARTBEAT_SECONDS = env_int("HEARTBEAT_SECONDS", 5)
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 30)

# Client addresses: the number of reverse proxies in front of Django that append to X-Forwarded-For.
# 0 = the socket's address; anything a client writes into the header is then ignored.
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)

# Password guessing (django-axes, counters in the database): either limit locks out, for the window.
LOGIN_FAILURES_PER_USERNAME = env_int("LOGIN_FAILURES_PER_USERNAME", 10)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 30)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "accounts.lockout.LimitPerParameterHandler"
AXES_FAILURE_LIMIT = 1  # the handler reports failures as a share of each parameter's own limit
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_CLIENT_IP_CALLABLE = "avatarsite.clientip.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_VERBOSE = False

# Accounts: self sign-up only when ALLOW_SIGNUP=1 (else /accounts/signup/ is a 404). Sign-ups and
# password-reset requests are limited per client address (and resets per e-mail address) to ACCOUNT_RATE.
ALLOW_SIGNUP = env_bool("ALLOW_SIGNUP", False)
ACCOUNT_RATE = os.environ.get("ACCOUNT_RATE", "5/hour")

# Mail (password resets): printed to the console unless EMAIL_BACKEND says otherwise, e.g.
# django.core.mail.backends.smtp.EmailBackend with EMAIL_HOST..., or .filebased.EmailBackend with EMAIL_FILE_PATH.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)  # seconds: a dead mail server must not hold a web worker
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")
if os.environ.get("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 3600)  # seconds a reset link works

# Share links to a finished video: valid SHARE_LINK_DAYS unless the owner asks for another time, at most
# SHARE_LINK_MAX_DAYS.
SHARE_LINK_DAYS = env_int("SHARE_LINK_DAYS", 7)
SHARE_LINK_MAX_DAYS = env_int("SHARE_LINK_MAX_DAYS", 365)

TOKEN_TTL_DAYS = env_int("TOKEN_TTL_DAYS", 0)  # API tokens older than this stop working; 0 = no expiry

# POST /api/generate holds a web worker while it waits: at most this many waits per user and in all
# (keep the total below the web server's workers x threads, so pages and the API still answer).
SYNC_GENERATE_PER_USER = env_int("SYNC_GENERATE_PER_USER", 1)
SYNC_GENERATE_TOTAL = env_int("SYNC_GENERATE_TOTAL", 2)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "generation.web.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "generation.web.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "generation.web.api.pagination.StrictPageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "generation.web.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"generations": GENERATION_RATE, "login": "30/min",
                               "avatar_uploads": AVATAR_UPLOAD_RATE},
    "NUM_PROXIES": TRUSTED_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Talking Avatar API",
    "DESCRIPTION": ("Text (or your own recording) → speech → a lip-synced MP4 of a photo or video avatar. A photo "
                    "avatar's head moves as a request's `motion` asks; a video avatar speaks over its own clip. "
                    "Authenticate with `Authorization: Token <key>` (POST /api/v1/auth/token/). Errors are JSON "
                    "with a `detail` in the caller's language (Accept-Language: ru, kk or en)."),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],  # the contract is public, data is not
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # every operation's errors and what validation checks beyond the serializers (generation/web/api/schema.py)
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "generation.web.api.schema.postprocess"],
    "COMPONENT_SPLIT_REQUEST": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}, "axes": {"level": "WARNING"}},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if TRUSTED_PROXIES > 0:  # only a proxy of ours says the client spoke https; without one, anybody could
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
