from __future__ import annotations

import html
from typing import Any

from django import forms
from django.utils.choices import BaseChoiceIterator
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language


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


def _option_html(text: str, label: Any, selected: bool) -> str:
    mark = " selected" if selected else ""
    return f'<option value="{esc(text)}"{mark}>{esc(label)}</option>'


class Options(BaseChoiceIterator):
    """A flat list of choices that form fields share instead of copying, with its options'
    HTML built once per language.

    Django deep-copies every field's choices for each form and normalises them again, and a
    select translates and escapes every label each time it renders. For a filter bar's fixed
    lists (towns, clusters, industries, sorts) that was most of the form's cost.
    """

    def __init__(self, pairs: Any) -> None:
        self.pairs = tuple((value, label) for value, label in pairs)
        if not _flat(list(self.pairs)):
            raise ValueError("Options holds a flat list: no option groups")
        self._html: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}

    def __iter__(self) -> Any:
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __copy__(self) -> Options:
        return self  # never changed after it is made

    def __deepcopy__(self, memo: dict[int, Any]) -> Options:
        return self

    def rendered(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """(value texts, option HTML, option HTML when selected), in the active language."""
        language = get_language() or ""
        found = self._html.get(language)
        if found is None:
            texts = tuple("" if v is None else str(v) for v, _label in self.pairs)
            plain = tuple(
                _option_html(t, label, False)
                for t, (_v, label) in zip(texts, self.pairs, strict=True)
            )
            chosen = tuple(
                _option_html(t, label, True)
                for t, (_v, label) in zip(texts, self.pairs, strict=True)
            )
            found = self._html[language] = (texts, plain, chosen)
        return found


_options: dict[Any, Options] = {}


def shared_options(key: Any, build: Any) -> Options:
    """The Options made by build() for this key (which must name everything the choices
    depend on, the language included), made once per process."""
    found = _options.get(key)
    if found is None:
        if len(_options) > 512:  # keys carry versions: old ones are never asked for again
            _options.clear()
        found = _options[key] = Options(build())
    return found


class FastSelect(forms.Select):
    """The HTML of Django's select.html, built in Python. Django renders a template per
    option: the 33 towns of the enterprise list's filter cost more than its 50 rows."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        chosen = set(self.format_value(value))
        parts = [f'<select name="{esc(name)}"{html_attrs(self.build_attrs(self.attrs, attrs))}>']
        if isinstance(self.choices, Options):
            texts, plain, selected = self.choices.rendered()
            # A single select marks its first matching option only.
            at = (
                next((i for i, text in enumerate(texts) if text in chosen), None)
                if chosen
                else None
            )
            if at is None:
                parts.extend(plain)
            else:
                parts.extend((*plain[:at], selected[at], *plain[at + 1 :]))
            parts.append("</select>")
            return mark_safe("".join(parts))  # built from escaped values and labels
        picked = False  # a single select marks its first matching option only

        def option(option_value: Any, label: Any) -> str:
            nonlocal picked
            text = "" if option_value is None else str(option_value)
            selected = not picked and text in chosen
            picked = picked or selected
            return _option_html(text, label, selected)

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


def _flat(choices: list[Any]) -> bool:
    return not any(isinstance(label, list | tuple) for _value, label in choices)


def _style(field: forms.Field) -> None:
    """The UI kit's class and a Python-rendered widget for one field (idempotent)."""
    widget = field.widget
    if type(widget) is forms.Select:
        fast = FastSelect(attrs=widget.attrs)
        fast.choices = widget.choices
        fast.is_required = widget.is_required
        field.widget = widget = fast
    elif type(widget) in FAST_WIDGETS:
        widget.__class__ = FAST_WIDGETS[type(widget)]  # same state, Python rendering
    choices = getattr(field, "choices", None)
    if isinstance(widget, FastSelect) and type(choices) is list and _flat(choices):
        # A fixed list declared on the form: shared by every copy of the field.
        field.choices = Options(choices)  # type: ignore[attr-defined]
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    classes = widget.attrs.get("class", "")
    if css not in classes.split():
        widget.attrs["class"] = f"{classes} {css}".strip()


class StyledForm:
    """Gives widgets the UI kit's classes, so templates render fields plainly.

    The declared fields are styled once per form class, before Django copies them for each
    form; fields that a base form's __init__ adds are styled per form. (A form that adds
    fields in its own __init__, after this one has run, styles them itself.)"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        if cls.__dict__.get("_styled_fields") is not cls.base_fields:  # type: ignore[attr-defined]
            for field in cls.base_fields.values():  # type: ignore[attr-defined]
                _style(field)
            cls._styled_fields = cls.base_fields  # type: ignore[attr-defined]
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for field in self.fields.values():  # type: ignore[attr-defined]
            _style(field)
