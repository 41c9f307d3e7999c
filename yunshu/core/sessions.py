"""Django's database sessions, read with a prepared query (yunshu.core.prepared): every
request that carries a session cookie reads one."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from .prepared import Prepared

_SESSION = Prepared(lambda key: Session.objects.filter(session_key=key)[:1], key=str)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Any:
        found = _SESSION.first(key=self.session_key)
        # The expiry is checked here rather than in SQL: a datetime parameter would be
        # adapted differently by each backend.
        if found is None or found.expire_date <= timezone.now():
            self._session_key = None
            return None
        return found
