from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend


class OrganisationModelBackend(ModelBackend):
    """Django's ModelBackend, loading the signed-in user with its organisation in one query:
    every page asks for the user's role, which lives on the organisation."""

    def get_user(self, user_id: Any) -> Any:
        from .models import User

        try:
            user = User._default_manager.select_related("organisation").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


# The backend a sign-up signs its new user in with.
SIGN_IN_BACKEND = "yunshu.accounts.backends.OrganisationModelBackend"
