"""Forms of the supply and demand table and of matchmaking events."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from yunshu.accounts.models import Role
from yunshu.core.forms import StyledForm
from yunshu.core.models import Cluster, Town
from yunshu.core.uscc import normalise

from .models import EventOutcome, MatchmakingEvent
from .supply import METRICS

METRIC_LABELS = {
    "demand": _("未达标企业数"),
    "supply": _("可用产品数"),
    "gap": _("每个产品对应的企业数"),
}


def _set_choices(field: forms.Field, choices: list[tuple[Any, str]]) -> None:
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class HeatmapForm(forms.Form):
    metric = forms.ChoiceField(
        choices=[(m, METRIC_LABELS[m]) for m in METRICS], required=False, initial="demand"
    )

    def metric_value(self) -> str:
        if self.is_valid():
            return self.cleaned_data.get("metric") or "demand"
        return "demand"


class CellForm(forms.Form):
    cluster = forms.ModelChoiceField(Cluster.objects.all())
    scene = forms.SlugField(max_length=40)


class EventForm(StyledForm, forms.Form):
    cluster = forms.ModelChoiceField(
        Cluster.objects.order_by("sort_order"), label=_("产业集群"), empty_label=None
    )
    title = forms.CharField(label=_("活动名称"), max_length=200)
    description = forms.CharField(
        label=_("活动介绍"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    starts_at = forms.DateTimeField(
        label=_("开始时间"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )
    venue = forms.CharField(label=_("地点"), max_length=200)
    town = forms.ModelChoiceField(
        Town.objects.order_by("sort_order"), label=_("举办镇街"), required=False
    )
    capacity = forms.IntegerField(label=_("名额"), min_value=1, max_value=100_000, initial=50)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        org = getattr(user, "organisation", None)
        if org is not None and org.kind == Role.TOWN:
            town = self.fields["town"]
            assert isinstance(town, forms.ModelChoiceField)
            town.queryset = Town.objects.filter(pk=org.town_id)
            town.required, town.empty_label, town.initial = True, None, org.town_id

    @classmethod
    def initial_for(cls, event: MatchmakingEvent) -> dict[str, Any]:
        return {
            "cluster": event.cluster_id,
            "title": event.title,
            "description": event.description,
            "starts_at": event.starts_at,
            "venue": event.venue,
            "town": event.town_id,
            "capacity": event.capacity,
        }


class EventFilterForm(StyledForm, forms.Form):
    cluster = forms.ModelChoiceField(
        Cluster.objects.order_by("sort_order"),
        label=_("产业集群"),
        required=False,
        empty_label=_("全部集群"),
    )
    state = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部状态")), *MatchmakingEvent.State.choices],
    )

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        out: dict[str, Any] = {}
        if self.cleaned_data.get("cluster"):
            out["cluster"] = self.cleaned_data["cluster"]
        if self.cleaned_data.get("state"):
            out["state"] = self.cleaned_data["state"]
        return out


class InviteForm(forms.Form):
    organisations = forms.TypedMultipleChoiceField(
        coerce=int, label=_("邀请对象"), error_messages={"required": _("请至少选择一家")}
    )

    def __init__(self, *args: Any, choices: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self.fields["organisations"], [(i, str(i)) for i in choices])


class RegistrationForm(StyledForm, forms.Form):
    attendee_name = forms.CharField(label=_("参会人"), max_length=50)
    attendee_phone = forms.CharField(label=_("联系电话"), max_length=30)


class AttendanceForm(forms.Form):
    attended = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args: Any, choices: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self.fields["attended"], [(i, str(i)) for i in choices])


class OutcomeForm(StyledForm, forms.Form):
    """The enterprise and provider are picked from the event's invitees, or by credit code
    for one that came without an in-app invitation (invited by phone)."""

    # The codes are typed, often with spaces or in full width: room for that, then normalised.
    enterprise = forms.TypedChoiceField(coerce=int, label=_("企业"), required=False)
    enterprise_uscc = forms.CharField(
        label=_("或企业统一社会信用代码"), max_length=40, required=False
    )
    provider = forms.TypedChoiceField(coerce=int, label=_("服务商"), required=False)
    provider_uscc = forms.CharField(
        label=_("或服务商统一社会信用代码"), max_length=40, required=False
    )
    kind = forms.ChoiceField(label=_("类型"), choices=EventOutcome.Kind.choices)
    amount_yuan = forms.DecimalField(
        label=_("金额（元）"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=_("选填；签约填写合同金额"),
    )
    note = forms.CharField(label=_("备注"), max_length=300, required=False)

    def __init__(
        self,
        *args: Any,
        enterprises: list[tuple[int, str]],
        providers: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self.fields["enterprise"], [("", "—"), *enterprises])
        _set_choices(self.fields["provider"], [("", "—"), *providers])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["enterprise_uscc"] = normalise(data.get("enterprise_uscc") or "")
        data["provider_uscc"] = normalise(data.get("provider_uscc") or "")
        if not data.get("enterprise") and not data["enterprise_uscc"]:
            self.add_error("enterprise", _("请选择企业或填写其统一社会信用代码"))
        elif data.get("enterprise") and data["enterprise_uscc"]:
            # Either could be the one meant: refuse rather than guess.
            self.add_error(
                "enterprise_uscc",
                _("已在列表中选择了企业，又填写了统一社会信用代码：请只保留其中一项"),
            )
        if not data.get("provider") and not data["provider_uscc"]:
            self.add_error("provider", _("请选择服务商或填写其统一社会信用代码"))
        elif data.get("provider") and data["provider_uscc"]:
            self.add_error(
                "provider_uscc",
                _("已在列表中选择了服务商，又填写了统一社会信用代码：请只保留其中一项"),
            )
        return data
