"""Production: secrets and hosts come from the environment; nothing insecure by default."""

import os

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = os.environ["SECRET_KEY"]
ALLOWED_HOSTS = os.environ["ALLOWED_HOSTS"].split(",")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# A persistent connection per worker unless CONN_MAX_AGE says otherwise.
if "CONN_MAX_AGE" not in os.environ:
    for _alias in DATABASES.values():  # noqa: F405
        _alias["CONN_MAX_AGE"] = 60
