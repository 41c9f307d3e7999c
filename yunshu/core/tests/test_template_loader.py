"""Folding constant translate, url and static tags at compile time changes no page's text."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.template import Context, Engine
from django.template.base import TextNode
from django.templatetags.i18n import TranslateNode
from django.urls import NoReverseMatch
from django.utils import translation

from yunshu.core import template_loader

SOURCE = """{% load i18n static %}{% translate "登录" %}|{% url 'catalogue:list' %}|\
{% static 'yunshu/yunshu.css' %}|{% for x in items %}{% if x %}{% translate "通知" %}\
{% else %}{% translate "重置" context "form" %}{% endif %}{% endfor %}|\
{% translate "a&b" %}|{% autoescape off %}{% translate "a&b" %}{% endautoescape %}|\
{% translate "登录" as saved %}{{ saved }}|{% translate word %}|\
{% language "en" %}{% translate "登录" %}{% endlanguage %}|{% url 'no-such-view' as missing %}\
{% if never %}{% url 'no-such-view' %}{% endif %}"""


LIBRARIES = {"i18n": "django.templatetags.i18n", "static": "django.templatetags.static"}


def _engines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Engine, Engine]:
    (tmp_path / "page.html").write_text(SOURCE, encoding="utf-8")
    monkeypatch.setattr(template_loader, "OURS", tmp_path)
    folding = Engine(
        dirs=[str(tmp_path)],
        loaders=[
            ("yunshu.core.template_loader.Loader", ["django.template.loaders.filesystem.Loader"])
        ],
        libraries=LIBRARIES,
    )
    plain = Engine(dirs=[str(tmp_path)], libraries=LIBRARIES)
    return folding, plain


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_folded_template_renders_exactly_as_djangos(tmp_path, monkeypatch, language):
    folding, plain = _engines(tmp_path, monkeypatch)
    context = {"items": [1, 0], "word": "通知"}
    with translation.override(language):
        expected = plain.get_template("page.html").render(Context(context))
        got = folding.get_template("page.html").render(Context(context))
    assert got == expected
    assert got.startswith("Sign in|" if language == "en" else "登录|")
    assert got.endswith("|Sign in|")  # {% language "en" %} still switches at render time
    # A url tag that cannot be reversed stays a tag, failing only if it is ever rendered.
    with pytest.raises(NoReverseMatch):
        folding.get_template("page.html").render(Context({**context, "never": True}))


def test_each_language_has_its_own_folded_copy(tmp_path, monkeypatch):
    folding, _plain = _engines(tmp_path, monkeypatch)
    with translation.override("zh-hans"):
        chinese = folding.get_template("page.html")
    with translation.override("en"):
        english = folding.get_template("page.html")
        assert folding.get_template("page.html") is english
    assert chinese is not english
    assert isinstance(chinese.nodelist[1], TextNode) and chinese.nodelist[1].s == "登录"
    assert english.nodelist[1].s == "Sign in"
    # Variables, `as`, a message context and {% language %} keep their tags.
    kept = chinese.nodelist.get_nodes_by_type(TranslateNode)
    assert len(kept) == 4


def test_templates_outside_the_project_are_left_as_they_are(tmp_path, monkeypatch):
    folding, _plain = _engines(tmp_path, monkeypatch)
    monkeypatch.setattr(template_loader, "OURS", tmp_path / "elsewhere")
    template = folding.get_template("page.html")
    assert len(template.nodelist.get_nodes_by_type(TranslateNode)) == 8


@pytest.mark.django_db
def test_the_sites_pages_use_folded_templates(client):
    from django.template import engines

    with translation.override("en"):
        page = engines["django"].engine.get_template("base.html")
    assert getattr(page, "folded", False)
    assert not page.nodelist.get_nodes_by_type(TranslateNode)
    client.cookies["django_language"] = "en"
    assert "Product and service catalogue" in client.get("/catalogue/").content.decode()
    client.cookies["django_language"] = "zh-hans"
    assert "产品和服务目录" in client.get("/catalogue/").content.decode()
