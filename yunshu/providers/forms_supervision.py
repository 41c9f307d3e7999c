"""Forms for platform profiles, incidents, annual reviews and complaints."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yunshu.core.forms import StyledForm

from .complaints import complaint_providers
from .models import AnnualReview, Complaint, Incident, Platform, Product, Provider
from .supervision import MAX_HOURS, MAX_RETURN_DAYS, PLATFORM_FIELDS

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _datetime_widget() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT)


class PlatformForm(StyledForm, forms.ModelForm):
    class Meta:
        model = Platform
        fields = list(PLATFORM_FIELDS)
        widgets = {"exit_plan": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "datacentre_location": _("例如：广东省东莞市松山湖；多个机房请逐一列出"),
            "backup_rpo_hours": _("出现故障时最多丢失多少小时的数据"),
            "backup_rto_hours": _("出现故障后多少小时内恢复服务"),
            "exit_plan": _("企业停止使用时如何导出、返还并删除其数据"),
            "data_return_days": _("企业提出后多少天内返还全部数据"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("backup_rpo_hours", "backup_rto_hours"):
            self.fields[name].widget.attrs.update({"min": 0, "max": MAX_HOURS})
            self.fields[name].max_value = MAX_HOURS  # type: ignore[attr-defined]
        self.fields["data_return_days"].widget.attrs.update({"min": 0, "max": MAX_RETURN_DAYS})

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in PLATFORM_FIELDS}


class IncidentForm(StyledForm, forms.Form):
    occurred_at = forms.DateTimeField(label=_("发生时间"), widget=_datetime_widget())
    severity = forms.ChoiceField(label=_("严重程度"), choices=Incident.Severity.choices)
    summary = forms.CharField(label=_("事件概述"), max_length=300)
    data_affected = forms.BooleanField(label=_("涉及客户数据"), required=False)
    resolved_at = forms.DateTimeField(
        label=_("处置完成时间"),
        required=False,
        widget=_datetime_widget(),
        help_text=_("已处置完毕的事件请填写；未处置的留空，之后再登记"),
    )
    resolution = forms.CharField(
        label=_("处置情况"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault(
                "occurred_at", timezone.localtime().replace(second=0, microsecond=0)
            )


class IncidentResolveForm(StyledForm, forms.Form):
    resolution = forms.CharField(label=_("处置情况"), widget=forms.Textarea(attrs={"rows": 3}))
    resolved_at = forms.DateTimeField(
        label=_("处置完成时间"),
        required=False,
        widget=_datetime_widget(),
        help_text=_("留空则为现在"),
    )

    def __init__(self, *args: Any, propose: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if propose:  # the provider's proposal: the city sets the time when it confirms
            del self.fields["resolved_at"]


STATE_CHOICES = [("", _("全部")), ("open", _("未处置")), ("resolved", _("已处置"))]


class IncidentFilterForm(StyledForm, forms.Form):
    q = forms.CharField(label=_("搜索"), required=False, max_length=100)
    provider = forms.ModelChoiceField(
        Provider.objects.order_by("name"),
        label=_("服务商"),
        required=False,
        empty_label=_("全部服务商"),
    )
    severity = forms.ChoiceField(
        label=_("严重程度"), required=False, choices=[("", _("全部")), *Incident.Severity.choices]
    )
    state = forms.ChoiceField(label=_("处置状态"), required=False, choices=STATE_CHOICES)

    def __init__(self, *args: Any, city: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not city:
            del self.fields["provider"]

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        provider = data.get("provider")
        return {
            "provider": provider.pk if provider else None,
            "severity": data.get("severity") or "",
            "state": data.get("state") or "",
            "q": data.get("q") or "",
        }


class ReviewDecisionForm(StyledForm, forms.Form):
    verdict = forms.ChoiceField(
        label=_("复核结论"), choices=AnnualReview.Verdict.choices, widget=forms.RadioSelect
    )
    conditions = forms.CharField(
        label=_("整改条件或说明"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("有条件通过时必填"),
    )
    deadline = forms.DateField(
        label=_("整改期限"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("有条件通过时必填：服务商须在此日期前完成整改"),
    )
    override_reason = forms.CharField(
        label=_("判定通过的理由"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("清单有未达标项而仍判定通过时必填，记录在复核结论中"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["verdict"].widget.attrs["class"] = "form-check-input"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("verdict") == AnnualReview.Verdict.CONDITIONAL:
            if not (data.get("conditions") or "").strip():
                self.add_error("conditions", _("有条件通过时必须写明整改条件"))
            if not data.get("deadline") and "deadline" not in self.errors:
                self.add_error("deadline", _("有条件通过时必须定下整改期限"))
        return data


class ComplaintForm(StyledForm, forms.Form):
    provider = forms.ModelChoiceField(
        Provider.objects.none(), label=_("被投诉的服务商"), empty_label=_("请选择服务商")
    )
    product = forms.ModelChoiceField(
        Product.objects.none(),
        label=_("涉及的产品（可选）"),
        required=False,
        empty_label=_("不针对具体产品"),
    )
    subject = forms.CharField(label=_("主题"), max_length=200)
    body = forms.CharField(
        label=_("投诉内容"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("请写明时间、经过和您的诉求"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = complaint_providers()  # type: ignore[attr-defined]
        provider_id = (self.data.get("provider") if self.is_bound else None) or self.initial.get(
            "provider"
        )
        self.fields["product"].queryset = products_of(provider_id)  # type: ignore[attr-defined]


def products_of(provider_id: Any) -> Any:
    try:
        pk = int(provider_id)
    except (TypeError, ValueError):
        return Product.objects.none()
    return Product.objects.filter(provider_id=pk, status=Product.Status.PUBLISHED).order_by(
        "name", "id"
    )


class ComplaintActionForm(StyledForm, forms.Form):
    action = forms.CharField(widget=forms.HiddenInput)
    text = forms.CharField(
        label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ComplaintFilterForm(StyledForm, forms.Form):
    q = forms.CharField(label=_("搜索"), required=False, max_length=100)
    state = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部")), ("open", _("未结案")), *Complaint.State.choices],
    )
    provider = forms.ModelChoiceField(
        Provider.objects.order_by("name"),
        label=_("服务商"),
        required=False,
        empty_label=_("全部服务商"),
    )

    def __init__(self, *args: Any, city: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not city:
            del self.fields["provider"]

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        state = data.get("state") or ""
        provider = data.get("provider")
        return {
            "state": "" if state == "open" else state,
            "open_only": state == "open",
            "provider": provider.pk if provider else None,
            "q": data.get("q") or "",
        }
