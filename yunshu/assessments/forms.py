from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from yunshu.core.forms import StyledForm

from .models import Questionnaire


class StartForm(StyledForm, forms.Form):
    questionnaire = forms.ModelChoiceField(
        Questionnaire.objects.all(), label=_("问卷"), to_field_name="key", empty_label=None
    )
