from __future__ import annotations

import html
from typing import Any

from django import forms
from django.utils.safestring import SafeString, mark_safe


def esc(value: Any) -> str:
    """Django's conditional_escape, without its lazy-string check on every call (hundreds per
    list page): safe text as it is, anything else HTML-escaped."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


def html_attrs(attrs: dict[str, Any]) -> str:
    """What django/forms/widgets/attrs.html renders: True as a bare name, False left out."""
    return "".join(
        f" {esc(name)}" if value is True else f' {esc(name)}="{esc(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class FastSelect(forms.Select):
    """The HTML of Django's select.html, built in Python. Django renders a template per
    option: the 33 towns of the enterprise list's filter cost more than its 50 rows."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        chosen = set(self.format_value(value))
        parts = [f'<select name="{esc(name)}"{html_attrs(self.build_attrs(self.attrs, attrs))}>']
        picked = False  # a single select marks its first matching option only

        def option(option_value: Any, label: Any) -> str:
            nonlocal picked
            text = "" if option_value is None else str(option_value)
            selected = not picked and text in chosen
            picked = picked or selected
            mark = " selected" if selected else ""
            return f'<option value="{esc(text)}"{mark}>{esc(label)}</option>'

        for option_value, label in self.choices:
            if isinstance(label, list | tuple):
                parts.append(f'<optgroup label="{esc(option_value)}">')
                parts.extend(option(v, sub) for v, sub in label)
                parts.append("</optgroup>")
            else:
                parts.append(option(option_value, label))
        parts.append("</select>")
        return mark_safe("".join(parts))  # every value and label is escaped above


class _PythonInput:
    """The HTML of Django's input.html, built in Python (a template render per field)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]  # type: ignore[attr-defined]
        shown = widget["value"]
        value_attr = "" if shown is None else f' value="{esc(shown)}"'
        return mark_safe(  # every value is escaped
            f'<input type="{esc(widget["type"])}" name="{esc(name)}"{value_attr}'
            f"{html_attrs(widget['attrs'])}>"
        )


class FastTextInput(_PythonInput, forms.TextInput):
    pass


class FastNumberInput(_PythonInput, forms.NumberInput):
    pass


class FastCheckboxInput(_PythonInput, forms.CheckboxInput):
    pass


FAST_WIDGETS: dict[type, type] = {
    forms.TextInput: FastTextInput,
    forms.NumberInput: FastNumberInput,
    forms.CheckboxInput: FastCheckboxInput,
}


class StyledForm:
    """Gives widgets the UI kit's classes, so templates render fields plainly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            if type(widget) is forms.Select:
                fast = FastSelect(attrs=widget.attrs)
                fast.choices = widget.choices
                fast.is_required = widget.is_required
                field.widget = widget = fast
            elif type(widget) in FAST_WIDGETS:
                widget.__class__ = FAST_WIDGETS[type(widget)]  # same state, Python rendering
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
