"""Views of the catalogue: the public list, detail, comparison and provider profiles, the
officials' export, and a provider's own product management. Thin: parse, call, render."""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yunshu.core.errors import check, is_htmx

from . import catalogue as cat
from .cards import product_cards
from .catalogue_index import catalogue_index
from .exports_catalogue import XLSX, write_catalogue_xlsx
from .forms_catalogue import CatalogueFilterForm, ProductForm
from .models import SECURITY_FEATURES, Product, Provider, VettingState
from .selectors import catalogue_products, provider_for

TRUST_PANEL = "providers/supervision/_trust_panel.html"
# Filters folded under "更多筛选" on a phone (counted on the fold when set).
ADVANCED_FILTERS = (
    "cluster",
    "industry",
    "deployment",
    "size_class",
    "price_max",
    "weeks_max",
    "residency",
    "security",
    "lead_only",
)


def _trust_panel() -> str:
    """The supervision part's trust panel when it exists, else this part's own summary."""
    try:
        get_template(TRUST_PANEL)
    except TemplateDoesNotExist:
        return "catalogue/_trust.html"
    return TRUST_PANEL


def _decorate(products: Any, names: dict[str, str], size: str) -> list[Product]:
    """Attach what the cards show (from prefetched rows: no queries here)."""
    out = []
    for p in products:
        p.scene_list = cat.scene_rows(p, names)  # type: ignore[attr-defined]
        if size:
            p.price_shown = cat.price_text(p.price_bands, size)  # type: ignore[attr-defined]
        else:
            lows = [band[0] for band in (p.price_bands or {}).values() if band]
            p.price_shown = _("¥%(low)s 起") % {"low": f"{min(lows):,}"} if lows else "—"  # type: ignore[attr-defined]
        out.append(p)
    return out


def _compare_context(
    request: HttpRequest, message: str = "", level: str = "info"
) -> dict[str, Any]:
    ids = cat.compare_ids(request.session)
    chosen = (
        {
            p.pk: p
            for p in catalogue_products().filter(pk__in=ids).only("pk", "name", "provider__name")
        }
        if ids
        else {}
    )
    return {
        "compare_items": [chosen[i] for i in ids if i in chosen],
        "compare_ids": ids,
        "compare_limit": cat.COMPARE_LIMIT,
        "compare_min": cat.COMPARE_MIN,
        "compare_message": message,
        "compare_level": level,
    }


def catalogue_list(request: HttpRequest) -> HttpResponse:
    scenes = cat.catalogue_scenes()
    form = CatalogueFilterForm(request.GET or None, scenes=scenes)
    filters = form.filters()
    # The catalogue as this process holds it (rebuilt when the catalogue version moves).
    page = Paginator(catalogue_index().search(**filters), form.page_size()).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    size = form.chosen_size()
    compare = _compare_context(request)
    cards = product_cards(
        page.object_list,
        request,
        compare["compare_ids"],
        scene_names=cat.scene_names(scenes),
        size=size,
    )
    context = {
        "advanced": sum(1 for key in ADVANCED_FILTERS if filters[key] not in (None, "", False)),
        "form": form,
        "page": page,
        "cards": mark_safe("".join(cards)),  # each card is escaped
        "size_label": cat.size_label(size) if size else "",
        "query": query.urlencode(),
        "can_export": cat.can_export_catalogue(request.user)[0],
        **compare,
    }
    template = "catalogue/_results.html" if is_htmx(request) else "catalogue/list.html"
    return render(request, template, context)


def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = cat.catalogue_product(request.user, pk)
    if product is None:
        # One answer for missing, hidden, withdrawn and never published: a friendly page
        # (an old link or a comparison still points here), with the status of a 404.
        return render(request, "catalogue/gone.html", {**_compare_context(request)}, status=404)
    names = cat.scene_names()
    public = catalogue_products().filter(pk=product.pk).exists()
    features = set(product.security_features or [])
    return render(
        request,
        "catalogue/detail.html",
        {
            "p": product,
            "provider": product.provider,
            "public": public,
            "scene_list": cat.scene_rows(product, names),
            "prices": [
                (label, cat.price_text(product.price_bands, size))
                for size, label in cat.SIZE_CLASSES
            ],
            "features": [(label, key in features) for key, label in SECURITY_FEATURES],
            "trust_reasons": cat.trust_reason_texts(product.provider),
            "trust_panel": _trust_panel(),
            **_compare_context(request),
        },
    )


def compare_page(request: HttpRequest) -> HttpResponse:
    shared = request.GET.get("ids", "")
    if shared:
        ids = [int(i) for i in shared.split(",") if i.strip().isdigit()][: cat.COMPARE_LIMIT]
    else:
        ids = cat.compare_ids(request.session)
    products = cat.compare_products(ids)
    rows = cat.compare_rows(products, cat.catalogue_scenes())
    return render(
        request,
        "catalogue/compare.html",
        {
            "products": products,
            "enough": len(products) >= cat.COMPARE_MIN,
            "compare_min": cat.COMPARE_MIN,
            "back_url": reverse("catalogue:compare"),
            "rows": rows,
            "differences": sum(1 for r in rows if r.differs),
            "share_ids": ",".join(str(p.pk) for p in products),
            **_compare_context(request),
        },
    )


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@require_POST
def compare_toggle(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("product", "")
    if not raw.isdigit():
        raise Http404
    product_id = int(raw)
    outcome, message = cat.compare_toggle(request.session, product_id)
    refused = outcome == "refused"
    if is_htmx(request):
        context = _compare_context(request, message, "warning" if refused else "success")
        context["toggled_product"] = {"pk": product_id}
        context["back_url"] = _back(request, reverse("catalogue:list"))
        return render(request, "catalogue/_compare_tray.html", context)
    (messages.warning if refused else messages.success)(request, message)
    return redirect(_back(request, reverse("catalogue:list")))


@require_POST
def compare_clear(request: HttpRequest) -> HttpResponse:
    cat.compare_clear(request.session)
    if is_htmx(request):
        context = _compare_context(request)
        context["back_url"] = _back(request, reverse("catalogue:list"))
        return render(request, "catalogue/_compare_tray.html", context)
    return redirect(_back(request, reverse("catalogue:list")))


def provider_profile(request: HttpRequest, pk: int) -> HttpResponse:
    provider = get_object_or_404(
        cat.catalogue_providers().prefetch_related("towns_served", "clusters_served"), pk=pk
    )
    names = cat.scene_names()
    products = _decorate(cat.catalogue_search().filter(provider=provider), names, "")
    return render(
        request,
        "catalogue/provider.html",
        {
            "provider": provider,
            "products": products,
            "certificates": cat.valid_certificates_of(provider),
            "trust_reasons": cat.trust_reason_texts(provider),
            "trust_panel": _trust_panel(),
            **_compare_context(request),
        },
    )


@login_required
def catalogue_export(request: HttpRequest) -> HttpResponseBase:
    check(cat.can_export_catalogue(request.user))
    scenes = cat.catalogue_scenes()
    form = CatalogueFilterForm(request.GET or None, scenes=scenes)
    buffer = io.BytesIO()
    write_catalogue_xlsx(cat.catalogue_search(**form.filters()), buffer, scenes=scenes)
    buffer.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(
        buffer, as_attachment=True, filename=f"catalogue-{stamp}.xlsx", content_type=XLSX
    )


# -- a provider's own products ------------------------------------------------------------


def _own_provider(request: HttpRequest) -> Provider:
    provider = provider_for(request.user)
    if provider is None:
        raise Http404
    return provider


@login_required
def my_products(request: HttpRequest) -> HttpResponse:
    provider = _own_provider(request)
    names = cat.scene_names()
    products = list(cat.products_managed_by(request.user))
    for p in products:
        p.scene_list = cat.scene_rows(p, names)  # type: ignore[attr-defined]
        p.shown = cat.product_shown_state(p, provider)  # type: ignore[attr-defined]
    return render(
        request,
        "catalogue/mine.html",
        {
            "provider": provider,
            "products": products,
            "can_manage": cat.can_manage_products(request.user)[0],
            "in_pool": provider.vetting_state == VettingState.APPROVED,
            "pending": provider.vetting_state in cat.PENDING_STATES,
        },
    )


def _published_message(request: HttpRequest, product: Product) -> None:
    if product.visibility == Product.Visibility.VISIBLE:
        messages.success(request, _("产品“%(name)s”已发布") % {"name": product.name})
    else:
        messages.warning(
            request,
            _("产品“%(name)s”已发布，但因缺少有效的必备证书暂不在目录中展示；证书获认可后自动展示")
            % {"name": product.name},
        )


def _apply_errors(form: ProductForm, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@login_required
def product_create(request: HttpRequest) -> HttpResponse:
    check(cat.can_manage_products(request.user))
    provider = _own_provider(request)
    scenes = cat.catalogue_scenes()
    form = ProductForm(request.POST or None, scenes=scenes, platforms=cat.platforms_of(provider))
    if request.method == "POST" and form.is_valid():
        publish = request.POST.get("then") == "publish"
        data = form.product_data() | {
            "status": Product.Status.PUBLISHED if publish else Product.Status.DRAFT
        }
        try:
            product = cat.product_create(provider=provider, data=data, by=request.user)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            if publish:
                _published_message(request, product)
            else:
                messages.success(request, _("产品“%(name)s”已保存为草稿") % {"name": product.name})
            return redirect("catalogue:mine")
    return render(
        request, "catalogue/product_form.html", {"form": form, "provider": provider, "p": None}
    )


@login_required
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(cat.products_managed_by(request.user), pk=pk)
    check(cat.can_edit_product(request.user, product))
    scenes = cat.catalogue_scenes()
    form = ProductForm(
        request.POST or None,
        initial=ProductForm.initial_for(product),
        scenes=scenes,
        platforms=cat.platforms_of(product.provider),
    )
    if request.method == "POST" and form.is_valid():
        try:
            cat.product_update(product=product, data=form.product_data(), by=request.user)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("catalogue:mine")
    return render(
        request,
        "catalogue/product_form.html",
        {"form": form, "provider": product.provider, "p": product},
    )


def _transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    product = get_object_or_404(cat.products_managed_by(request.user), pk=pk)
    try:
        product = cat.product_transition(product=product, action=action, by=request.user)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        if action == "publish":
            _published_message(request, product)
        else:
            messages.success(request, _("产品“%(name)s”已下架") % {"name": product.name})
    return redirect(_back(request, reverse("catalogue:mine")))


@login_required
@require_POST
def product_publish(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(request, pk, "publish")


@login_required
@require_POST
def product_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(request, pk, "withdraw")
