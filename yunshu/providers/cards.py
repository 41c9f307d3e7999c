"""The catalogue's product cards, built in Python.

A page shows 24 cards; as a template, with a compare form included per card, they cost the
catalogue page more than everything else in it. Each card here is one escaped string with
the markup catalogue/_results.html used to loop over; the compare form matches
catalogue/_compare_button.html (a test holds them equal).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from yunshu.core.forms import esc as escape

from .catalogue import LEVEL_LABELS, price_text
from .catalogue_index import Entry
from .models import DeploymentMode
from .templatetags.trust_tags import grade_colour

_MARK = 999_999_999


def _pattern(name: str) -> str:
    return reverse(name, args=[_MARK]).replace(str(_MARK), "{}")


def compare_form_html(
    product_pk: int, *, selected: bool, token: str, back: str, action: str = ""
) -> str:
    """action: the escaped URL of the compare toggle (looked up once per page by the cards)."""
    action = action or escape(reverse("catalogue:compare_toggle"))
    if selected:
        button = (
            '<button class="btn btn-sm btn-success" type="submit" data-testid="compare-toggle" '
            f'data-selected="1" aria-pressed="true">✓ {escape(_("已加入对比"))}</button>'
        )
    else:
        button = (
            '<button class="btn btn-sm btn-outline-primary" type="submit" '
            'data-testid="compare-toggle" data-selected="0" aria-pressed="false">'
            f"+ {escape(_('加入对比'))}</button>"
        )
    return (
        f'<form id="compare-btn-{product_pk}" method="post" action="{action}" '
        f'hx-post="{action}" hx-target="#compare-tray" hx-swap="outerHTML" class="m-0">'
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(token)}">'
        f'<input type="hidden" name="product" value="{product_pk}">'
        f'<input type="hidden" name="next" value="{escape(back)}">{button}</form>'
    )


def product_cards(
    entries: Iterable[Entry],
    request: Any,
    compare_ids: Iterable[int],
    *,
    scene_names: Mapping[str, str],
    size: str,
) -> list[SafeString]:
    """One card per product of the catalogue index; prices for the size class chosen, else
    from the lowest band."""
    detail, provider_page = _pattern("catalogue:detail"), _pattern("catalogue:provider")
    token, back = get_token(request), request.get_full_path()
    action = escape(reverse("catalogue:compare_toggle"))
    chosen = set(compare_ids)
    deployments = {key: str(label) for key, label in DeploymentMode.choices}
    levels = {level: escape(label) for level, label in LEVEL_LABELS.items()}
    words: dict[str, str] = {
        "grade": escape(_("可信等级")),
        "lead": escape(_("牵引单位")),
        "price": escape(_("价格")),
        "year": escape(_("/年")),
        "weeks": escape(_("周期")),
        "week": escape(_("周")),
    }
    return [
        _card(
            e,
            detail,
            provider_page,
            token,
            back,
            chosen,
            deployments,
            words,
            levels,
            scene_names,
            _price_shown(e.price_bands, size),
            action,
        )
        for e in entries
    ]


def _price_shown(bands: Mapping[str, Any], size: str) -> str:
    if size:
        return price_text(bands, size)
    lows = [band[0] for band in (bands or {}).values() if band]
    return _("¥%(low)s 起") % {"low": f"{min(lows):,}"} if lows else "—"


def _card(
    e: Entry,
    detail: str,
    provider_page: str,
    token: str,
    back: str,
    chosen: set[int],
    deployments: dict[str, str],
    w: dict[str, str],
    levels: dict[int, str],
    scene_names: Mapping[str, str],
    price: str,
    action: str,
) -> SafeString:
    grade = e.trust_grade
    badge = (
        f'<span class="badge bg-{escape(grade_colour(grade))} text-white" title="{w["grade"]}" '
        f'data-testid="trust-badge" data-grade="{escape(grade)}">{escape(grade)}</span>'
        if grade
        else ""
    )
    lead = f' <span class="badge bg-blue-lt">{w["lead"]}</span>' if e.lead else ""
    scenes = "".join(
        f'<span class="badge bg-azure-lt me-1 mb-1">{escape(scene_names.get(key, key))} → '
        f"{levels.get(level) or escape(level)}</span>"
        for key, level in e.scenes
    )
    per_year = f'<span class="text-secondary">{w["year"]}</span>' if price != "—" else ""
    compare = compare_form_html(
        e.pk, selected=e.pk in chosen, token=token, back=back, action=action
    )
    return mark_safe(  # every value below is escaped
        '<div class="col-12 col-md-6 col-xl-4">'
        f'<div class="card h-100 product-card" data-testid="product-card" data-product="{e.pk}">'
        '<div class="card-body d-flex flex-column"><div class="d-flex align-items-start gap-2">'
        f'<h3 class="card-title mb-1 flex-fill"><a href="{escape(detail.format(e.pk))}" '
        f'data-testid="product-name">{escape(e.name)}</a></h3>{badge}</div>'
        f'<div class="small mb-2"><a class="text-secondary" '
        f'href="{escape(provider_page.format(e.provider_id))}">{escape(e.provider_name)}</a>{lead}'
        "</div>"
        f'<p class="text-secondary mb-2">{escape(e.summary)}</p>'
        f'<div class="mb-2">{scenes}</div>'
        '<div class="mt-auto d-flex flex-wrap gap-3 small">'
        f'<span><span class="text-secondary">{w["price"]}</span> '
        f'<strong data-testid="price">{escape(price)}</strong>{per_year}</span>'
        f'<span><span class="text-secondary">{w["weeks"]}</span> '
        f'<strong data-testid="weeks">{e.weeks}</strong> {w["week"]}</span>'
        f'<span class="text-secondary">{escape(deployments.get(e.deployment, e.deployment))}</span>'
        f'</div></div><div class="card-footer py-2">{compare}</div></div></div>'
    )
