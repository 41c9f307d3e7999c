"""Forms of provider registration, vetting, documents and certificates."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django import forms
from django.contrib.auth.password_validation import (
    password_validators_help_text_html,
    validate_password,
)
from django.core import exceptions as django_exceptions
from django.utils.translation import gettext_lazy as _

from yunshu.core import uscc as uscc_rules
from yunshu.core.forms import StyledForm
from yunshu.core.models import Cluster, Town

from .models import CertificateType, Provider, ProviderDocument, VettingState
from .vetting import certificate_problems, phone_problem, upload_check

PROFILE_FIELDS = (
    "name",
    "summary",
    "description",
    "website",
    "contact_name",
    "contact_phone",
    "address",
)
ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


def _checkboxes(field: forms.Field) -> None:
    field.widget.attrs["class"] = "form-check-input"


class ProfileForm(StyledForm, forms.Form):
    """The profile a provider keeps: who it is, where and for which clusters it serves."""

    # Required, though not by the field itself (ticking 所有镇街 also answers it): marked so.
    required_marks: ClassVar[frozenset[str]] = frozenset({"towns_served"})

    name = forms.CharField(label=_("服务商名称"), max_length=200)
    summary = forms.CharField(
        label=_("简介"), max_length=300, help_text=_("一句话说明主营的数字化产品和服务")
    )
    description = forms.CharField(
        label=_("详细介绍"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    website = forms.URLField(label=_("网站"), required=False, assume_scheme="https")
    contact_name = forms.CharField(label=_("联系人"), max_length=50)
    contact_phone = forms.CharField(
        label=_("联系电话"),
        max_length=30,
        help_text=_("11 位手机号，或带区号的固定电话（如 0769-22123456）"),
    )
    address = forms.CharField(label=_("地址"), max_length=300, required=False)
    all_towns = forms.BooleanField(label=_("服务全市所有镇街"), required=False)
    towns_served = forms.ModelMultipleChoiceField(
        Town.objects.all(),
        label=_("服务镇街"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "有本地服务团队或网点的镇街，用于为企业匹配就近的服务商；"
            "至少选一个，或勾选“服务全市所有镇街”"
        ),
    )
    clusters_served = forms.ModelMultipleChoiceField(
        Cluster.objects.all(),
        label=_("服务产业集群"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请至少选择一个产业集群")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _checkboxes(self.fields["towns_served"])
        _checkboxes(self.fields["clusters_served"])

    def clean_contact_phone(self) -> str:
        phone = self.cleaned_data["contact_phone"].strip()
        problem = phone_problem(phone)
        if problem:
            raise forms.ValidationError(problem)
        return phone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("all_towns"):
            data["towns_served"] = list(Town.objects.all())
        elif not data.get("towns_served") and "towns_served" not in self.errors:
            self.add_error("towns_served", _("请至少选择一个镇街，或勾选“服务全市所有镇街”"))
        return data

    def profile(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("all_towns", None)
        for key in ("uscc", "username", "email", "password"):
            data.pop(key, None)
        return data


def _clean_uscc(value: str) -> str:
    result = uscc_rules.validate(value)
    if not result.ok:
        raise forms.ValidationError([str(e.message) for e in result.errors])
    return result.code


class ProviderRegisterForm(ProfileForm):
    uscc = forms.CharField(label=_("统一社会信用代码"), max_length=40)
    email = forms.EmailField(label=_("邮箱"))
    username = forms.CharField(label=_("用户名"), max_length=150)
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput)

    field_order = ["uscc", "name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The rules are shown before the first try, not only after a refusal.
        self.fields["password"].help_text = password_validators_help_text_html()

    def clean_uscc(self) -> str:
        return _clean_uscc(self.cleaned_data["uscc"])

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


class ProviderApplyForm(ProfileForm):
    uscc = forms.CharField(label=_("统一社会信用代码"), max_length=40)

    field_order = ["uscc", "name"]

    def __init__(self, *args: Any, organisation: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if organisation is not None:
            self.initial.setdefault("name", organisation.name)
            if organisation.uscc:
                self.initial["uscc"] = organisation.uscc
                self.fields["uscc"].disabled = True
                self.fields["uscc"].help_text = _("本单位登记的信用代码")

    def clean_uscc(self) -> str:
        return _clean_uscc(self.cleaned_data["uscc"])


class ProviderProfileForm(ProfileForm):
    @classmethod
    def for_provider(cls, provider: Provider, data: Any = None) -> ProviderProfileForm:
        initial = {
            name: getattr(provider, name) for name in cls.base_fields if hasattr(provider, name)
        }
        initial["towns_served"] = list(provider.towns_served.all())
        initial["clusters_served"] = list(provider.clusters_served.all())
        return cls(data, initial=initial)

    def changes(self) -> dict[str, Any]:
        """Only what the person changed (towns and clusters compared as sets)."""
        out: dict[str, Any] = {}
        data = self.profile()
        for name, value in data.items():
            before = self.initial.get(name)
            if name in ("towns_served", "clusters_served"):
                if {x.pk for x in before or []} != {x.pk for x in value}:
                    out[name] = list(value)
            elif (before or "") != (value or ""):
                out[name] = value
        return out


class TransitionForm(forms.Form):
    action = forms.CharField(max_length=20)
    reason = forms.CharField(
        label=_("理由"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )
    expected_state = forms.ChoiceField(choices=VettingState.choices, required=False)


class LeadForm(forms.Form):
    lead = forms.TypedChoiceField(choices=[("1", "1"), ("0", "0")], coerce=lambda v: v == "1")


class DocumentUploadForm(StyledForm, forms.Form):
    kind = forms.ChoiceField(label=_("材料类型"), choices=ProviderDocument.Kind.choices)
    file = forms.FileField(
        label=_("文件"),
        help_text=_("PDF、JPG 或 PNG，不超过 10 MB"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )


def level_choices(type_: CertificateType | None) -> list[tuple[str, Any]]:
    if type_ is not None and not type_.has_level:
        return [("", _("（该类证书无级别）"))]
    if type_ is not None:
        return [("", _("请选择级别")), *((str(lv), str(lv)) for lv in type_.levels)]
    levels: list[str] = []
    for t in CertificateType.objects.filter(has_level=True):
        levels += [str(lv) for lv in t.levels if str(lv) not in levels]
    return [("", _("无级别 / 请选择")), *((lv, lv) for lv in levels)]


class CertificateForm(StyledForm, forms.Form):
    type = forms.ModelChoiceField(
        CertificateType.objects.all(), label=_("证书类型"), empty_label=_("请选择证书类型")
    )
    level = forms.ChoiceField(label=_("级别"), required=False)
    number = forms.CharField(label=_("证书编号"), max_length=100)
    issuer = forms.CharField(label=_("发证机构"), max_length=200, required=False)
    issued_on = forms.DateField(label=_("发证日期"), widget=forms.DateInput(attrs={"type": "date"}))
    expires_on = forms.DateField(
        label=_("有效期至"), widget=forms.DateInput(attrs={"type": "date"})
    )
    file = forms.FileField(
        label=_("证书扫描件"),
        help_text=_("PDF、JPG 或 PNG，不超过 10 MB"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        chosen = None
        raw = self.data.get("type") if self.is_bound else None
        if raw:
            chosen = CertificateType.objects.filter(pk=raw).first() if str(raw).isdigit() else None
        level = cast(forms.ChoiceField, self.fields["level"])
        level.choices = level_choices(chosen)
        level.widget.attrs["data-testid"] = "certificate-level"
        type_field = cast(forms.ModelChoiceField, self.fields["type"])  # type: ignore[type-arg]
        type_field.label_from_instance = lambda t: (  # type: ignore[method-assign,assignment]
            f"{t.name}（{_('必备')}）" if t.mandatory else t.name
        )

    def clean_file(self) -> Any:
        upload = self.cleaned_data.get("file")
        if upload is not None:
            try:
                upload_check(upload)
            except django_exceptions.ValidationError as exc:
                raise forms.ValidationError(exc.message_dict.get("file", exc.messages)) from None
        return upload

    def clean(self) -> dict[str, Any]:
        # Level and dates are checked together with the fields' own checks, so a person sees
        # every problem in one go, not one per submit.
        data = super().clean() or {}
        problems = certificate_problems(
            type=data.get("type"),
            level=data.get("level") or "",
            number=data.get("number") or ("-" if "number" in self.errors else ""),
            issued_on=data.get("issued_on"),
            expires_on=data.get("expires_on"),
        )
        for name, messages in problems.items():
            if name not in self.errors:
                for message in messages:
                    self.add_error(name, message)
        return data


class CertificateReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("认可")), ("reject", _("不予认可"))])
    reason = forms.CharField(required=False, max_length=300)


class QueueFilterForm(StyledForm, forms.Form):
    q = forms.CharField(label=_("名称或信用代码"), required=False, max_length=100)
    state = forms.ChoiceField(
        label=_("入库状态"),
        required=False,
        choices=[("", _("全部状态")), *VettingState.choices],
    )
    lead = forms.ChoiceField(
        label=_("牵引单位"),
        required=False,
        choices=[("", _("全部")), ("1", _("是")), ("0", _("否"))],
    )

    def filters(self) -> dict[str, str]:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "state": data.get("state") or "",
            "q": (data.get("q") or "").strip(),
            "lead": data.get("lead") or "",
        }
