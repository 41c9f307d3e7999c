"""The widgets built in Python give exactly the HTML of Django's own templates."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from django import forms
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st

from yunshu.core.forms import (
    FastCheckboxInput,
    FastNumberInput,
    FastSelect,
    FastTextInput,
    Options,
    StyledForm,
)

text = st.text(alphabet=st.sampled_from(list("aZ9 <>&\"'云数=/-_")), max_size=12)
attrs = st.dictionaries(
    st.sampled_from(["class", "id", "placeholder", "min", "required", "disabled", "data-x"]),
    st.one_of(text, st.booleans(), st.integers(-5, 5000), st.none()),
    max_size=4,
)
values = st.one_of(st.none(), text, st.integers(-10, 10**6), st.booleans(), text.map(mark_safe))


@given(attrs, attrs, values, st.sampled_from(["q", "price_max", "a<b"]))
def test_python_inputs_render_as_djangos(
    own: dict[str, Any], extra: dict[str, Any], value: Any, name: str
) -> None:
    for django_widget, fast in (
        (forms.TextInput, FastTextInput),
        (forms.NumberInput, FastNumberInput),
        (forms.CheckboxInput, FastCheckboxInput),
    ):
        expected = django_widget(attrs=dict(own)).render(name, value, attrs=dict(extra))
        assert fast(attrs=dict(own)).render(name, value, attrs=dict(extra)) == expected


@given(
    attrs,
    st.lists(st.tuples(text, text), max_size=6),
    st.one_of(st.none(), text, st.lists(text, max_size=2)),
)
def test_python_select_renders_as_djangos(
    own: dict[str, Any], choices: list[tuple[str, str]], value: Any
) -> None:
    django_widget = forms.Select(attrs=dict(own), choices=choices)
    fast = FastSelect(attrs=dict(own), choices=choices)
    # Django's template puts a line break before each option; nothing else differs.
    expected = re.sub(r">\n\s*<", "><", django_widget.render("town", value))
    assert fast.render("town", value) == expected


def test_a_styled_form_renders_its_inputs_in_python_with_the_kits_classes() -> None:
    class Filters(StyledForm, forms.Form):
        q = forms.CharField(required=False)
        n = forms.IntegerField(required=False)
        lead = forms.BooleanField(required=False)
        town = forms.ChoiceField(choices=[("", "全部"), ("1", "莞城")], required=False)

    form = Filters({"q": '<b>"x"</b>', "n": "12", "lead": "on", "town": "1"})
    widgets = {name: type(field.widget) for name, field in form.fields.items()}
    assert widgets == {
        "q": FastTextInput,
        "n": FastNumberInput,
        "lead": FastCheckboxInput,
        "town": FastSelect,
    }
    assert str(form["q"]) == (
        '<input type="text" name="q" value="&lt;b&gt;&quot;x&quot;&lt;/b&gt;" '
        'class="form-control" id="id_q">'
    )
    assert str(form["lead"]).endswith(" checked>")


@given(
    attrs,
    st.lists(st.tuples(st.one_of(text, st.integers(0, 99), st.none()), text), max_size=6),
    st.one_of(st.none(), text, st.integers(0, 99), st.lists(text, max_size=2)),
)
def test_shared_options_render_as_djangos_select(
    own: dict[str, Any], choices: list[tuple[Any, str]], value: Any
) -> None:
    expected = re.sub(
        r">\n\s*<", "><", forms.Select(attrs=dict(own), choices=choices).render("town", value)
    )
    shared = Options(choices)
    # Twice: the second render uses the option HTML built by the first.
    for _ in range(2):
        assert FastSelect(attrs=dict(own), choices=shared).render("town", value) == expected


def test_options_are_shared_by_every_copy_and_rendered_per_language() -> None:
    shared = Options([("", gettext_lazy("全部")), ("1", "莞城")])
    assert copy.copy(shared) is shared and copy.deepcopy(shared) is shared
    with translation.override("en"):
        english = FastSelect(choices=shared).render("town", "")
    with translation.override("zh-hans"):
        chinese = FastSelect(choices=shared).render("town", "")
    assert ">All<" in english and ">全部<" in chinese
    with pytest.raises(ValueError, match="no option groups"):
        Options([("Group", [("1", "a")])])


def test_a_styled_form_styles_its_declared_fields_once_and_shares_fixed_choices() -> None:
    class Base(forms.Form):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.fields["later"] = forms.ChoiceField(choices=[("x", "乙")], required=False)

    class Filters(StyledForm, Base):
        town = forms.ChoiceField(choices=[("", "全部"), ("1", "莞城")], required=False)
        grouped = forms.ChoiceField(choices=[("组", [("a", "甲")])], required=False)

    first, second = Filters(), Filters({"town": "1"})
    assert first.fields["town"].choices is second.fields["town"].choices
    assert isinstance(first.fields["town"].choices, Options)
    assert isinstance(first.fields["grouped"].choices, list)  # groups keep Django's path
    for form in (first, second, Filters()):
        assert form.fields["town"].widget.attrs["class"] == "form-select"
    assert second.is_valid() and second.cleaned_data["town"] == "1"
    assert not Filters({"town": "2"}).is_valid()  # Options still validate the choice
    assert '<option value="1" selected>莞城</option>' in str(second["town"])
    # A field the base form adds after Django copied the declared ones is styled per form.
    assert 'class="form-select"' in str(second["later"])
