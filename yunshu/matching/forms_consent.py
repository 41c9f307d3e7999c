from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yunshu.core.forms import StyledForm
from yunshu.providers.models import Product, Provider, VettingState

from . import consent
from .proposals import MAX_WEEKS


def _provider_label(p: Provider) -> str:
    return f"{p.name}（{p.uscc}）"


class ShareForm(StyledForm, forms.Form):
    provider = forms.ModelChoiceField(
        Provider.objects.filter(vetting_state=VettingState.APPROVED),
        label=_("服务商"),
        empty_label=_("请选择服务商"),
    )
    scope_profile = forms.BooleanField(label=_("企业档案"), required=False, initial=True)
    scope_assessments = forms.BooleanField(label=_("评估结果"), required=False)
    expires_on = forms.DateField(
        label=_("有效期至"),
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text=_("默认 90 天，最长一年；到期后服务商自动失去访问权限"),
    )
    purpose = forms.CharField(
        label=_("用途"),
        required=False,
        max_length=200,
        help_text=_("例如：数字化诊断、产品报价"),
    )

    def __init__(self, *args: Any, selected: Provider | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expires_on"].initial = consent.share_default_expiry()
        self.fields["expires_on"].widget.attrs.update(
            min=str(timezone.localdate()),
            max=str(consent.share_latest_expiry()),
        )
        # The pool may hold a thousand providers: the select lists a page, the search box
        # (htmx) refills it, and validation still accepts any approved provider.
        shown = consent.share_providers()
        if selected is not None and selected not in shown:
            shown = [selected, *shown]
        field = self.fields["provider"]
        field.widget.choices = [("", field.empty_label)] + [  # type: ignore[attr-defined]
            (p.pk, _provider_label(p)) for p in shown
        ]
        if selected is not None:
            self.initial["provider"] = selected.pk

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("scope_profile") or data.get("scope_assessments")):
            raise ValidationError(_("请至少选择一项授权范围"))
        return data


class DiagnosisAssignForm(StyledForm, forms.Form):
    provider = forms.ModelChoiceField(
        Provider.objects.none(),
        label=_("牵引单位"),
        empty_label=_("请选择牵引单位"),
        help_text=_("只列出资源池中（已入库、未暂停）的牵引单位"),
    )
    expires_on = forms.DateField(
        label=_("诊断期限至"),
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text=_("期限内牵引单位可以查看企业档案和评估结果，并提交诊断；最长一年"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["provider"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = consent.assignable_lead_providers()
        field.label_from_instance = _provider_label  # type: ignore[method-assign,assignment]
        self.fields["expires_on"].initial = consent.share_default_expiry()
        self.fields["expires_on"].widget.attrs.update(
            min=str(timezone.localdate()), max=str(consent.share_latest_expiry())
        )


class ProposalForm(StyledForm, forms.Form):
    title = forms.CharField(label=_("方案标题"), max_length=200)
    body = forms.CharField(
        label=_("方案内容"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("说明要解决的问题、实施内容和交付成果"),
    )
    product = forms.ModelChoiceField(
        Product.objects.none(), label=_("关联产品（可选）"), required=False, empty_label="—"
    )
    price_yuan = forms.DecimalField(
        label=_("报价（元）"), min_value=0, max_digits=12, decimal_places=2
    )
    weeks = forms.IntegerField(label=_("实施周期（周）"), min_value=1, max_value=MAX_WEEKS)

    def __init__(self, *args: Any, products: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if products is not None:
            self.fields["product"].queryset = products  # type: ignore[attr-defined]


class DecisionForm(StyledForm, forms.Form):
    note = forms.CharField(label=_("说明"), required=False, max_length=300)


class RatingForm(StyledForm, forms.Form):
    stars = forms.TypedChoiceField(
        label=_("评分"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("评价"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
