from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from yunshu.accounts.models import Role
from yunshu.core.forms import StyledForm
from yunshu.core.reference import reference_options
from yunshu.core.size_class import SizeClass

from .models import Enterprise

CENT = Decimal("0.01")
YES_NO = [("", _("全部")), ("1", _("是")), ("0", _("否"))]
SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "-revenue": ("-revenue", "id"),
    "revenue": ("revenue", "id"),
    "-employees": ("-employees", "id"),
    "employees": ("employees", "id"),
    "uscc": ("uscc",),
    # Grouped by town in the reference list's order (towns are loaded in it, so their ids
    # follow it): the (town, name) index serves it. Ordering by the joined sort_order
    # column sorted all 200,000 rows for every page.
    "town": ("town_id", "name", "id"),
}
SORT_LABELS = [
    ("name", _("名称")),
    ("-revenue", _("营业收入从高到低")),
    ("revenue", _("营业收入从低到高")),
    ("-employees", _("从业人员从多到少")),
    ("employees", _("从业人员从少到多")),
    ("uscc", _("信用代码")),
    ("town", _("镇街")),
]


class EnterpriseFilterForm(StyledForm, forms.Form):
    q = forms.CharField(label=_("搜索"), required=False, max_length=100)
    # Choices from the per-process reference lists (set in __init__), not a query each.
    town = forms.TypedChoiceField(label=_("镇街"), required=False, coerce=int, empty_value=None)
    cluster = forms.TypedChoiceField(
        label=_("产业集群"), required=False, coerce=int, empty_value=None
    )
    size_class = forms.ChoiceField(
        label=_("规模"), required=False, choices=[("", _("全部规模")), *SizeClass.choices]
    )
    above_scale = forms.ChoiceField(label=_("规上"), required=False, choices=YES_NO)
    specialised = forms.ChoiceField(label=_("专精特新"), required=False, choices=YES_NO)
    sort = forms.ChoiceField(label=_("排序方式"), required=False, choices=SORT_LABELS)
    per_page = forms.TypedChoiceField(
        label=_("每页"),
        required=False,
        coerce=int,
        choices=[(25, 25), (50, 50), (100, 100)],
        empty_value=None,
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields  # type: ignore[attr-defined]
        fields["cluster"].choices = reference_options("cluster", _("全部集群"))
        fields["town"].choices = reference_options("town", _("全部镇街"))
        org = getattr(user, "organisation", None)
        if org is not None and org.kind in (Role.TOWN, Role.ENTERPRISE):
            # A town officer sees one town, an enterprise itself: a town filter would mislead.
            del self.fields["town"]

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}

        def yes_no(key: str) -> bool | None:
            value = data.get(key)
            return None if value in (None, "") else value == "1"

        return {
            "town": data.get("town"),
            "cluster": data.get("cluster"),
            "size_class": data.get("size_class") or None,
            "above_scale": yes_no("above_scale"),
            "specialised": yes_no("specialised"),
            "q": data.get("q") or "",
        }

    def ordering(self) -> tuple[str, ...]:
        key = (self.cleaned_data.get("sort") if self.is_valid() else None) or "name"
        return SORTS.get(key, SORTS["name"])

    def page_size(self) -> int:
        return (self.cleaned_data.get("per_page") if self.is_valid() else None) or 50


class EnterpriseEditForm(StyledForm, forms.ModelForm):
    revenue_wan = forms.DecimalField(
        label=_("营业收入（万元）"), required=False, min_value=0, max_digits=14, decimal_places=4
    )

    class Meta:
        model = Enterprise
        fields = [
            "name",
            "industry",
            "cluster_overridden",
            "cluster",
            "employees",
            "employees_year",
            "revenue_year",
            "registered_on",
            "above_scale",
            "specialised",
            "contact_name",
            "contact_phone",
            "address",
        ]
        widgets = {"registered_on": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cluster"].required = False
        if self.instance.revenue is not None:
            self.initial["revenue_wan"] = self.instance.revenue / 10000

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("cluster_overridden") and not data.get("cluster"):
            self.add_error("cluster", _("人工指定集群时请选择集群"))
        return data

    def changes(self) -> dict[str, Any]:
        data = {k: self.cleaned_data[k] for k in self.Meta.fields}
        wan = self.cleaned_data.get("revenue_wan")
        data["revenue"] = (wan * 10000).quantize(CENT) if wan is not None else None
        return data


class ImportUploadForm(StyledForm, forms.Form):
    file = forms.FileField(label=_("企业名单文件（.xlsx 或 .csv）"))
    skip_invalid = forms.BooleanField(
        label=_("跳过有错误的行，只导入正确的行"),
        required=False,
        help_text=_("默认全部正确才写入，任何一行有错误则不写入任何数据"),
    )
    dry_run = forms.BooleanField(label=_("仅校验，不写入"), required=False)


class ClaimDecisionForm(StyledForm, forms.Form):
    approve = forms.TypedChoiceField(
        choices=[("1", _("通过")), ("0", _("驳回"))], coerce=lambda v: v == "1"
    )
    reason = forms.CharField(label=_("理由"), required=False, max_length=300)
