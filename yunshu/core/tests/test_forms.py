"""The widgets built in Python give exactly the HTML of Django's own templates."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.safestring import mark_safe
from hypothesis import given
from hypothesis import strategies as st

from yunshu.core.forms import (
    FastCheckboxInput,
    FastNumberInput,
    FastSelect,
    FastTextInput,
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
