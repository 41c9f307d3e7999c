"""Forms of the catalogue: a provider's product form and the public catalogue's filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from yunshu.core.forms import StyledForm, shared_options
from yunshu.core.models import Cluster, Industry
from yunshu.core.reference import reference_options

from .catalogue import (
    LEVEL_LABELS,
    MAX_PRICE,
    MAX_WEEKS,
    SIZE_CLASSES,
    SIZE_KEYS,
    SceneInfo,
    price_band_problems,
    residency_problems,
    size_label,
)
from .models import (
    SECURITY_FEATURES,
    DataResidency,
    DeploymentMode,
    Platform,
    PriceModel,
    Product,
)

LEVEL_CHOICES = [("", gettext_lazy("不覆盖")), *((str(k), v) for k, v in LEVEL_LABELS.items())]


def _checkboxes(field: forms.Field) -> None:
    field.widget.attrs["class"] = "form-check-input"


class ProductForm(StyledForm, forms.Form):
    name = forms.CharField(label=gettext_lazy("产品名称"), max_length=200)
    summary = forms.CharField(
        label=gettext_lazy("一句话介绍"),
        max_length=300,
        help_text=gettext_lazy("小快轻准：说清解决什么问题、多快见效"),
    )
    description = forms.CharField(
        label=gettext_lazy("详细介绍"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    industries = forms.ModelMultipleChoiceField(
        Industry.objects.order_by("code"),
        label=gettext_lazy("适用行业"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("不选表示通用"),
    )
    clusters = forms.ModelMultipleChoiceField(
        Cluster.objects.order_by("sort_order"),
        label=gettext_lazy("适用产业集群"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("不选表示通用"),
    )
    deployment = forms.ChoiceField(label=gettext_lazy("部署方式"), choices=DeploymentMode.choices)
    price_model = forms.ChoiceField(label=gettext_lazy("计费方式"), choices=PriceModel.choices)
    implementation_weeks = forms.IntegerField(label=gettext_lazy("实施周期（周）"))
    # No default: where the data lives is the provider's statement, never a pre-ticked guess.
    data_residency = forms.ChoiceField(
        label=gettext_lazy("数据存储位置"),
        choices=[("", gettext_lazy("请选择数据存储位置")), *DataResidency.choices],
        error_messages={"required": gettext_lazy("请选择数据存储位置")},
        help_text=gettext_lazy("公有云 SaaS 的数据在服务商机房，不能选“数据留在企业本地”"),
    )
    security_features = forms.MultipleChoiceField(
        label=gettext_lazy("安全特性"),
        choices=SECURITY_FEATURES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    platform: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=Platform.objects.none(),  # set per provider in __init__
        label=gettext_lazy("运行平台"),
        required=False,
        empty_label=gettext_lazy("不指定"),
    )

    def __init__(
        self, *args: Any, scenes: tuple[SceneInfo, ...], platforms: Any, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.scenes = scenes
        self.fields["platform"].queryset = platforms  # type: ignore[attr-defined]
        weeks = self.fields["implementation_weeks"]
        weeks.error_messages = {
            "required": _("请填写实施周期（周）"),
            "invalid": _("实施周期须为整数（周）"),
        }
        weeks.widget.attrs.update({"min": 1, "max": MAX_WEEKS, "inputmode": "numeric"})
        for size, label in SIZE_CLASSES:
            for end, word in (("low", _("最低价")), ("high", _("最高价"))):
                field = forms.IntegerField(
                    label=f"{label} · {word}",
                    required=False,
                    error_messages={
                        "invalid": _("%(label)s报价：%(word)s须为整数（元/年）")
                        % {"label": label, "word": word}
                    },
                    widget=forms.NumberInput(
                        attrs={"min": 0, "max": MAX_PRICE, "step": 100, "inputmode": "numeric"}
                    ),
                )
                self.fields[f"price_{size}_{end}"] = field
        for scene in scenes:
            self.fields[f"scene_{scene.key}"] = forms.ChoiceField(
                label=scene.name, choices=LEVEL_CHOICES, required=False
            )
        # StyledForm styled the fields declared on the class; the ones added here get theirs.
        for name, extra in self.fields.items():
            if name.startswith(("price_", "scene_")):
                css = "form-select" if name.startswith("scene_") else "form-control"
                extra.widget.attrs["class"] = css
        for name in ("industries", "clusters", "security_features"):
            _checkboxes(self.fields[name])

    @classmethod
    def initial_for(cls, product: Product) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": product.name,
            "summary": product.summary,
            "description": product.description,
            "industries": list(product.industries.all()),
            "clusters": list(product.clusters.all()),
            "deployment": product.deployment,
            "price_model": product.price_model,
            "implementation_weeks": product.implementation_weeks,
            "data_residency": product.data_residency,
            "security_features": list(product.security_features or []),
            "platform": product.platform_id,
        }
        for size, band in (product.price_bands or {}).items():
            if size in SIZE_KEYS and band:
                initial[f"price_{size}_low"], initial[f"price_{size}_high"] = band
        for s in product.scenes.all():
            initial[f"scene_{s.scene}"] = str(s.lifts_to)
        return initial

    def price_rows(self) -> list[tuple[str, Any, Any]]:
        return [
            (label, self[f"price_{size}_low"], self[f"price_{size}_high"])
            for size, label in SIZE_CLASSES
        ]

    def scene_fields(self) -> list[tuple[SceneInfo, Any]]:
        return [(s, self[f"scene_{s.key}"]) for s in self.scenes]

    def clean_implementation_weeks(self) -> int:
        weeks = self.cleaned_data["implementation_weeks"]
        if not 1 <= weeks <= MAX_WEEKS:
            raise forms.ValidationError(_("实施周期须为 1 到 104 之间的整数（周）"))
        return int(weeks)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        bands: dict[str, list[int]] = {}
        for size in SIZE_KEYS:
            low_key, high_key = f"price_{size}_low", f"price_{size}_high"
            if low_key in self.errors or high_key in self.errors:
                continue
            low, high = data.get(low_key), data.get(high_key)
            if low is None and high is None:
                continue
            if low is None or high is None:
                missing = low_key if low is None else high_key
                self.add_error(
                    missing,
                    _("%(label)s报价：请同时填写最低价和最高价") % {"label": size_label(size)},
                )
                continue
            bands[size] = [low, high]
        for field, messages in price_band_problems(bands).items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        data["price_bands"] = bands
        if "data_residency" not in self.errors:
            for message in residency_problems(data.get("deployment"), data.get("data_residency")):
                self.add_error("data_residency", message)
        return data

    def product_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        scenes = {s.key: int(d[f"scene_{s.key}"]) for s in self.scenes if d.get(f"scene_{s.key}")}
        return {
            "name": d["name"],
            "summary": d["summary"],
            "description": d.get("description", ""),
            "industries": list(d.get("industries") or []),
            "clusters": list(d.get("clusters") or []),
            "deployment": d["deployment"],
            "price_model": d["price_model"],
            "price_bands": d.get("price_bands") or {},
            "implementation_weeks": d["implementation_weeks"],
            "data_residency": d["data_residency"],
            "security_features": list(d.get("security_features") or []),
            "platform": d.get("platform"),
            "scenes": scenes,
        }


SORT_CHOICES = [
    ("relevance", gettext_lazy("相关度 / 名称")),
    ("name", gettext_lazy("名称")),
    ("price", gettext_lazy("价格从低到高（按所选规模）")),
    ("weeks", gettext_lazy("实施周期从短到长")),
    ("trust", gettext_lazy("可信等级从高到低")),
]


class CatalogueFilterForm(StyledForm, forms.Form):
    q = forms.CharField(label=gettext_lazy("搜索"), required=False, max_length=100)
    scene = forms.ChoiceField(label=gettext_lazy("场景"), required=False)
    # Choices from the per-process reference lists (set in __init__), not a query each.
    cluster = forms.TypedChoiceField(
        label=gettext_lazy("产业集群"), required=False, coerce=int, empty_value=None
    )
    industry = forms.ChoiceField(label=gettext_lazy("行业"), required=False)
    deployment = forms.ChoiceField(
        label=gettext_lazy("部署方式"),
        required=False,
        choices=[("", gettext_lazy("全部部署方式")), *DeploymentMode.choices],
    )
    size_class = forms.ChoiceField(
        label=gettext_lazy("企业规模"),
        required=False,
        choices=[("", gettext_lazy("全部规模")), *SIZE_CLASSES],
    )
    price_max = forms.IntegerField(
        label=gettext_lazy("价格上限（元/年）"),
        required=False,
        min_value=0,
        max_value=MAX_PRICE,
        error_messages={
            "min_value": gettext_lazy("价格上限不能为负数"),
            "invalid": gettext_lazy("价格上限须为整数（元/年）"),
        },
        help_text=gettext_lazy("未选企业规模时，按产品最低一档报价比较"),
    )
    weeks_max = forms.IntegerField(
        label=gettext_lazy("实施周期不超过（周）"), required=False, min_value=1, max_value=MAX_WEEKS
    )
    residency = forms.ChoiceField(
        label=gettext_lazy("数据存储位置"),
        required=False,
        choices=[("", gettext_lazy("不限")), *DataResidency.choices],
    )
    security = forms.ChoiceField(
        label=gettext_lazy("安全特性"),
        required=False,
        choices=[("", gettext_lazy("不限")), *SECURITY_FEATURES],
    )
    lead = forms.BooleanField(label=gettext_lazy("只看牵引单位"), required=False)
    sort = forms.ChoiceField(label=gettext_lazy("排序方式"), required=False, choices=SORT_CHOICES)
    per_page = forms.TypedChoiceField(
        label=gettext_lazy("每页"),
        required=False,
        coerce=int,
        choices=[(12, 12), (24, 24), (48, 48), (96, 96)],
        empty_value=None,
    )

    def __init__(self, *args: Any, scenes: tuple[SceneInfo, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["scene"].choices = shared_options(
            ("catalogue-scenes", get_language(), scenes),
            lambda: [("", _("全部场景")), *((s.key, s.name) for s in scenes)],
        )
        fields["cluster"].choices = reference_options("cluster", _("全部集群"))
        fields["industry"].choices = reference_options("industry", _("全部行业"))
        self.fields["lead"].widget.attrs["class"] = "form-check-input"
        self.fields["price_max"].widget.attrs.update({"step": 1000, "inputmode": "numeric"})

    def _data(self) -> dict[str, Any]:
        if self.is_valid():
            return self.cleaned_data
        # A bad field (say a negative ceiling) does not filter, and says so next to it and
        # above the results; the others still filter.
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                css = widget.attrs.get("class", "")
                if "is-invalid" not in css:
                    widget.attrs["class"] = f"{css} is-invalid".strip()
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}

    def filters(self) -> dict[str, Any]:
        d = self._data()
        return {
            "q": d.get("q") or "",
            "scene": d.get("scene") or "",
            "cluster": d.get("cluster"),
            "industry": d.get("industry") or None,
            "deployment": d.get("deployment") or "",
            "size_class": d.get("size_class") or "",
            "price_max": d.get("price_max"),
            "weeks_max": d.get("weeks_max"),
            "residency": d.get("residency") or "",
            "security": d.get("security") or "",
            "lead_only": bool(d.get("lead")),
            "sort": d.get("sort") or "relevance",
        }

    def page_size(self) -> int:
        return self._data().get("per_page") or 24

    def chosen_size(self) -> str:
        return self._data().get("size_class") or ""
