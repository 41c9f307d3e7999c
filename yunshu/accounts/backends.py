from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models import QuerySet

from yunshu.core.prepared import Prepared


class OrganisationModelBackend(ModelBackend):
    """Django's ModelBackend, loading the signed-in user with its organisation in one query:
    every page asks for the user's role, which lives on the organisation."""

    def get_user(self, user_id: Any) -> Any:
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        user = _USER.first(pk=pk)
        return user if user is not None and self.user_can_authenticate(user) else None


def _user_with_organisation(pk: int) -> QuerySet[Any]:
    from .models import User

    return User._default_manager.select_related("organisation").filter(pk=pk)


# Read on every signed-in request: compiled once (yunshu.core.prepared).
_USER = Prepared(_user_with_organisation, pk=int)


# The backend a sign-up signs its new user in with.
SIGN_IN_BACKEND = "yunshu.accounts.backends.OrganisationModelBackend"
