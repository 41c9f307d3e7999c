"""Django's cached template loader, keeping one compiled copy of each template per language,
in which constant {% translate %}, {% url %} and {% static %} tags are already rendered.

A page's template runs some 30 translate tags, 10 url tags and 5 static tags, each worked out
again on every request although its output can only change with the language (translations
are compiled at start-up) and the script prefix (URLs and the static root). On the catalogue
that was a third of the template's time. Those tags are replaced by their text when a
template is compiled, in the copy for the active language and script prefix.

Only our own templates are folded (Django's admin resolves URLs with its site's namespace),
and never inside {% language %}, which switches the language at render time. Autoescape and
{% language %} are judged where a tag is written: a block or include rendered inside another
template's {% language %} or {% autoescape off %} would be folded for the outer setting. No
template here uses either tag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.template import Context, Template
from django.template.base import Node, NodeList, TextNode, Variable
from django.template.defaulttags import AutoEscapeControlNode, IfNode, URLNode
from django.template.loaders import cached
from django.templatetags.i18n import LanguageNode, TranslateNode
from django.templatetags.static import StaticNode
from django.urls import get_script_prefix, get_urlconf
from django.utils.translation import get_language

OURS = Path(__file__).resolve().parent.parent  # the yunshu package


class Loader(cached.Loader):
    def cache_key(self, template_name: str, skip: Any = None) -> str:
        key = super().cache_key(template_name, skip)
        return f"{key}|{get_language() or ''}|{get_script_prefix()}|{get_urlconf() or ''}"

    def get_template(self, template_name: str, skip: Any = None) -> Template:
        template = super().get_template(template_name, skip)
        if not getattr(template, "folded", False):
            origin = Path(str(template.origin.name)).resolve()
            if origin.is_relative_to(OURS):
                fold(template.nodelist, autoescape=template.engine.autoescape)
            template.folded = True  # type: ignore[attr-defined]
        return template


def _literal(expression: Any) -> bool:
    """A quoted string with no filters: the parser resolved it already, or (translate) it is
    a Variable holding a literal."""
    var = getattr(expression, "var", None)
    if getattr(expression, "filters", True):
        return False
    if isinstance(var, Variable):
        return var.literal is not None and var.lookups is None
    return isinstance(var, str) and not getattr(expression, "is_var", True)


def _constant(node: Node) -> bool:
    if isinstance(node, TranslateNode):
        return (
            not node.noop
            and node.asvar is None
            and node.message_context is None
            and _literal(node.filter_expression)
        )
    if isinstance(node, URLNode):
        return not node.args and not node.kwargs and node.asvar is None and _literal(node.view_name)
    if isinstance(node, StaticNode):
        return node.varname is None and _literal(node.path)
    return False


def fold(nodelist: NodeList, *, autoescape: bool) -> None:
    """Replace the constant tags in this node list, and in every list below it, by text."""
    for i, node in enumerate(nodelist):
        if isinstance(node, LanguageNode):
            continue  # rendered in another language than the one this copy is for
        if _constant(node):
            try:
                text = node.render(Context(autoescape=autoescape))
            except Exception:
                # A bad url name, a file missing from the static manifest: the tag stays, to
                # fail where it is rendered, as it would have.
                continue
            nodelist[i] = TextNode(text)
            continue
        inner = node.setting if isinstance(node, AutoEscapeControlNode) else autoescape
        children: list[Any]
        if isinstance(node, IfNode):
            children = [branch for _condition, branch in node.conditions_nodelists]
        else:
            children = [getattr(node, name, None) for name in node.child_nodelists]
        for child in children:
            if isinstance(child, NodeList):
                fold(child, autoescape=inner)
