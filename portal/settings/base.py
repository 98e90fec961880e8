"""Settings shared by every environment; each environment module adjusts them."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
# Local state of the embedded default: SQLite database, media, demo replicas.
VAR_DIR = Path(env("VAR_DIR", default=str(BASE_DIR / "var")))

# A local `.env` file is optional and never required in production.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default=None)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tables2",
    "anymail",
    "portal",
    "instances",
    "insights",
    "billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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

DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"
    ),
}
# OFN replicas are added at run time as extra aliases (instances.replicas); the router
# keeps portal tables on `default` and OFN tables on their replica.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers queue for the lock instead of failing with "database is locked" when a
    # worker and a command write at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
DATABASE_ROUTERS = ["instances.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español"), ("fr", "Français"), ("ca", "Català")]
# Invoices in an instance's language; bin/compile-messages builds the .mo files.
LOCALE_PATHS = [BASE_DIR / "locale"]
# The process zone is only used to display portal timestamps; billing never reads it
# (each instance carries its own IANA zone, see portal.periods).
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="billing@ofn-portal.invalid")
# An email provider instead of SMTP, through django-anymail: EMAIL_BACKEND names its
# backend (e.g. anymail.backends.postmark.EmailBackend) and every ANYMAIL_<NAME>
# variable becomes ANYMAIL["<NAME>"] (ANYMAIL_POSTMARK_SERVER_TOKEN, and
# ANYMAIL_WEBHOOK_SECRET "user:password" guarding the tracking webhook).
EMAIL_BACKEND = env("EMAIL_BACKEND", default=EMAIL_CONFIG["EMAIL_BACKEND"])
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in env.ENVIRON.items()
    if name.startswith("ANYMAIL_")
}
# Invoice emails claimed this long ago without a recorded hand-over turn "unknown"
# (rule 12); longer than the send task's hard time limit.
BILLING_DELIVERY_UNKNOWN_AFTER_MINUTES = 30
# Renders "rendering" for longer than this were lost with their worker (case C06);
# longer than the render task's hard time limit.
BILLING_RENDER_STUCK_AFTER_MINUTES = 15

REDIS_URL = env("REDIS_URL", default=None)
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_TASK_ALWAYS_EAGER = False
# One queue name per deployment; tests give their worker a queue of its own.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="celery")

# Where the DDL of the OFN tables lives; seed_demo and the tests build replicas from it.
OFN_REPLICA_SCHEMA = BASE_DIR / "instances" / "sql" / "replica_schema.sql"
# Default per-instance statement timeout for replica sessions (OFN's integration role
# uses 30 s, see data-model.md section 5.3).
OFN_REPLICA_STATEMENT_TIMEOUT_MS = 30_000

DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint logs every render step at INFO; its warnings still show.
        "weasyprint.progress": {"level": "WARNING"},
    },
}
