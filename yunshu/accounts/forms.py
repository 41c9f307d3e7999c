from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from yunshu.core import uscc as uscc_rules
from yunshu.core.forms import StyledForm
from yunshu.core.models import Industry, Town


class SignupForm(StyledForm, forms.Form):
    uscc = forms.CharField(label=_("统一社会信用代码"), max_length=40)
    name = forms.CharField(label=_("企业名称"), max_length=200)
    town = forms.ModelChoiceField(Town.objects.all(), label=_("所属镇街"))
    industry = forms.ModelChoiceField(Industry.objects.all(), label=_("行业大类"))
    contact_name = forms.CharField(label=_("联系人"), max_length=50)
    contact_phone = forms.CharField(label=_("联系电话"), max_length=30)
    email = forms.EmailField(label=_("邮箱"))
    username = forms.CharField(label=_("用户名"), max_length=150)
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput)

    def clean_uscc(self) -> str:
        result = uscc_rules.validate(self.cleaned_data["uscc"])
        if not result.ok:
            raise forms.ValidationError([str(e.message) for e in result.errors])
        return result.code

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


class InviteForm(StyledForm, forms.Form):
    email = forms.EmailField(label=_("被邀请人邮箱"))


class AcceptInvitationForm(StyledForm, forms.Form):
    display_name = forms.CharField(label=_("姓名"), max_length=100)
    username = forms.CharField(label=_("用户名"), max_length=150)
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        validate_password(password)
        return password

    def cleaned(self) -> dict[str, Any]:
        return dict(self.cleaned_data)
