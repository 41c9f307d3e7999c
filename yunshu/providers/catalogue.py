"""The product catalogue (小快轻准): scenes, product services, catalogue reads, comparison.

Writes are keyword-only services in one transaction with their audit entry, and every one
that changes what the catalogue shows bumps the catalogue version that matching reads (a
draft's saves do not). Validation is one pure function
(`product_problems`) shared by the form and the services, so bad input changes nothing
whichever way it comes in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from yunshu.accounts.models import Role
from yunshu.core.audit import audit_record, changed, snapshot
from yunshu.core.errors import check

from .catalogue_version import catalogue_bump
from .models import (
    SECURITY_FEATURES,
    Certificate,
    DataResidency,
    DeploymentMode,
    Platform,
    PriceModel,
    Product,
    ProductScene,
    Provider,
    VettingState,
)
from .selectors import catalogue_products, provider_for

SIZE_CLASSES: list[tuple[str, Any]] = [
    ("micro", gettext_lazy("微型企业")),
    ("small", gettext_lazy("小型企业")),
    ("medium", gettext_lazy("中型企业")),
    ("large", gettext_lazy("大型企业")),
]
SIZE_KEYS = tuple(key for key, _label in SIZE_CLASSES)
LEVEL_LABELS = {
    1: gettext_lazy("一级"),
    2: gettext_lazy("二级"),
    3: gettext_lazy("三级"),
    4: gettext_lazy("四级"),
}
SECURITY_KEYS = tuple(key for key, _label in SECURITY_FEATURES)
MAX_WEEKS = 104
MAX_PRICE = 1_000_000_000  # ¥1bn a year: beyond that a figure is a typo, not a price
COMPARE_LIMIT = 4
COMPARE_MIN = 2  # a comparison of one product is not one
COMPARE_SESSION_KEY = "catalogue_compare"
# Provider states whose users may keep their products (pending ones prepare before approval).
MANAGING_STATES = (
    VettingState.SUBMITTED,
    VettingState.UNDER_REVIEW,
    VettingState.RETURNED,
    VettingState.APPROVED,
)
# Still being vetted: products are prepared, and shown once the provider is in the pool.
PENDING_STATES = (VettingState.SUBMITTED, VettingState.UNDER_REVIEW, VettingState.RETURNED)
PRODUCT_FIELDS = (
    "name",
    "summary",
    "description",
    "deployment",
    "price_model",
    "price_bands",
    "implementation_weeks",
    "data_residency",
    "security_features",
    "platform",
    "status",
)


# -- scenes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SceneInfo:
    key: str
    name_zh: str
    name_en: str
    mandatory: bool
    group: str

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


@lru_cache(maxsize=1)
def _shipped_scenes() -> tuple[SceneInfo, ...]:
    from yunshu.assessments.definitions import QUESTIONNAIRE_DIR, questionnaire_from_file

    path = sorted(QUESTIONNAIRE_DIR.glob("maturity-*.json"))[-1]
    parsed, _text = questionnaire_from_file(path)
    return tuple(
        SceneInfo(s.key, s.name_zh, s.name_en, s.mandatory, s.group) for s in parsed.scenes
    )


# The scenes change only when another questionnaire comes into force: kept per process for a
# minute (cleared at once in this process when a questionnaire or level rule is saved).
SCENES_TTL_SECONDS = 60
_scenes: dict[str, tuple[float, tuple[SceneInfo, ...]]] = {}


def catalogue_scenes() -> tuple[SceneInfo, ...]:
    """The scenes of the maturity questionnaire in force (the one with the active level rule,
    else the newest stored, else the newest shipped file)."""
    import time

    found = _scenes.get("maturity")
    now = time.monotonic()
    if found is None or now - found[0] > SCENES_TTL_SECONDS:
        found = (now, _scenes_in_force())
        _scenes["maturity"] = found
    return found[1]


def catalogue_scenes_clear(**kwargs: Any) -> None:
    _scenes.clear()


def _scenes_in_force() -> tuple[SceneInfo, ...]:
    from yunshu.assessments.definitions import engine_questionnaire
    from yunshu.assessments.models import Questionnaire

    maturity = Questionnaire.objects.filter(kind=Questionnaire.Kind.MATURITY)
    stored = maturity.filter(rules__is_active=True).order_by("-key").first() or (
        maturity.order_by("-key").first()
    )
    if stored is None:
        return _shipped_scenes()
    return tuple(
        SceneInfo(s.key, s.name_zh, s.name_en, s.mandatory, s.group)
        for s in engine_questionnaire(stored).scenes
    )


def scene_names(scenes: Iterable[SceneInfo] | None = None) -> dict[str, str]:
    return {s.key: s.name for s in (scenes if scenes is not None else catalogue_scenes())}


# -- permissions ----------------------------------------------------------------------------


def can_manage_products(user: Any) -> tuple[bool, str]:
    """A user of a provider that is in the pool or waiting for vetting."""
    provider = provider_for(user)
    if provider is None:
        return False, "not a provider user"
    if provider.vetting_state not in MANAGING_STATES:
        return False, f"provider is {provider.vetting_state}"
    return True, ""


def can_edit_product(user: Any, product: Product) -> tuple[bool, str]:
    allowed, reason = can_manage_products(user)
    if not allowed:
        return allowed, reason
    provider = provider_for(user)
    if provider is None or product.provider_id != provider.pk:
        return False, "not this provider's product"
    return True, ""


def can_export_catalogue(user: Any) -> tuple[bool, str]:
    if getattr(user, "is_superuser", False):
        return True, ""
    if getattr(user, "role", None) in (Role.CITY, Role.TOWN):
        return True, ""
    return False, "officials only"


# -- validation (pure) ------------------------------------------------------------------------


def size_label(size: str) -> str:
    return str(dict(SIZE_CLASSES).get(size, size))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def price_band_problems(bands: Any) -> dict[str, list[str]]:
    """Each size class: both ends whole non-negative yuan, low ≤ high. Keys name the field."""
    if bands in (None, ""):
        return {}
    if not isinstance(bands, Mapping):
        return {"price_bands": [_("分规模报价格式不正确")]}
    problems: dict[str, list[str]] = {}
    for size, band in bands.items():
        if size not in SIZE_KEYS:
            problems.setdefault("price_bands", []).append(
                _("未知的企业规模：%(size)s") % {"size": size}
            )
            continue
        label = size_label(size)
        if not isinstance(band, list | tuple) or len(band) != 2:
            problems[f"price_{size}_low"] = [
                _("%(label)s报价：请同时填写最低价和最高价") % {"label": label}
            ]
            continue
        low, high = band
        for end, value, word in (("low", low, _("最低价")), ("high", high, _("最高价"))):
            if not _is_int(value):
                problems.setdefault(f"price_{size}_{end}", []).append(
                    _("%(label)s报价：%(word)s须为整数（元/年）") % {"label": label, "word": word}
                )
            elif value < 0:
                problems.setdefault(f"price_{size}_{end}", []).append(
                    _("%(label)s报价：%(word)s不能为负数") % {"label": label, "word": word}
                )
            elif value > MAX_PRICE:
                problems.setdefault(f"price_{size}_{end}", []).append(
                    _("%(label)s报价：%(word)s超过 10 亿元，请检查")
                    % {"label": label, "word": word}
                )
        if f"price_{size}_low" in problems or f"price_{size}_high" in problems:
            continue
        if low > high:
            problems[f"price_{size}_low"] = [
                _("%(label)s报价：最低价 %(low)s 元高于最高价 %(high)s 元")
                % {"label": label, "low": f"{low:,}", "high": f"{high:,}"}
            ]
    return problems


def residency_problems(deployment: Any, residency: Any) -> list[str]:
    """Combinations of deployment and data residency that cannot both be true."""
    if deployment == DeploymentMode.SAAS and residency == DataResidency.ON_PREMISES:
        return [
            _(
                "公有云 SaaS 的数据存放在服务商的机房，不能选择“数据留在企业本地”；"
                "数据留在企业本地的产品请选择私有化、混合或边缘部署"
            )
        ]
    return []


def product_problems(
    data: Mapping[str, Any],
    *,
    scene_keys: Iterable[str],
    platform_ids: Iterable[int],
    publishing: bool,
) -> dict[str, list[str]]:
    """Everything wrong with a product's fields, by field name; empty when it may be saved."""
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    name = str(data.get("name") or "").strip()
    if not name:
        add("name", _("请填写产品名称"))
    elif len(name) > 200:
        add("name", _("产品名称不能超过 200 字"))
    summary = str(data.get("summary") or "").strip()
    if not summary:
        add("summary", _("请填写一句话介绍"))
    elif len(summary) > 300:
        add("summary", _("一句话介绍不能超过 300 字"))
    for field, choices, label in (
        ("deployment", DeploymentMode.values, _("部署方式")),
        ("price_model", PriceModel.values, _("计费方式")),
        ("data_residency", DataResidency.values, _("数据存储位置")),
    ):
        if data.get(field) not in choices:
            add(field, _("请选择%(label)s") % {"label": label})
    for message in residency_problems(data.get("deployment"), data.get("data_residency")):
        add("data_residency", message)
    weeks = data.get("implementation_weeks")
    if not (isinstance(weeks, int) and not isinstance(weeks, bool) and 1 <= weeks <= MAX_WEEKS):
        add("implementation_weeks", _("实施周期须为 1 到 104 之间的整数（周）"))
    for field, messages in price_band_problems(data.get("price_bands")).items():
        problems.setdefault(field, []).extend(messages)
    features = data.get("security_features") or []
    unknown = [f for f in features if f not in SECURITY_KEYS]
    if unknown:
        add(
            "security_features",
            _("未知的安全特性：%(keys)s") % {"keys": "、".join(map(str, unknown))},
        )
    platform = data.get("platform")
    if platform is not None:
        platform_id = platform.pk if isinstance(platform, Platform) else platform
        if platform_id not in set(platform_ids):
            add("platform", _("只能选择本服务商自己的平台"))
    known = set(scene_keys)
    scenes = data.get("scenes") or {}
    for key, level in scenes.items():
        if key not in known:
            add("scenes", _("未知的场景：%(key)s") % {"key": key})
        elif not _is_int(level) or not 1 <= level <= 4:
            add(f"scene_{key}", _("可提升至等级须为一级到四级"))
    if publishing:
        if not scenes:
            add("scenes", _("发布前请至少选择一个覆盖场景及可提升至的等级"))
        if not data.get("price_bands"):
            add("price_bands", _("发布前请至少填写一个企业规模的报价区间"))
    return problems


def _raise_if(problems: dict[str, list[str]]) -> None:
    if problems:
        raise ValidationError(problems)


# -- services ---------------------------------------------------------------------------------


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(data)
    for key in ("name", "summary", "description"):
        if key in out:
            out[key] = str(out[key] or "").strip()
    if "security_features" in out:
        # Stored in the list's own order so equal sets compare equal in the audit diff.
        chosen = list(dict.fromkeys(out["security_features"] or []))
        out["security_features"] = [k for k in SECURITY_KEYS if k in chosen] + [
            k for k in chosen if k not in SECURITY_KEYS
        ]
    if "price_bands" in out:
        bands = out["price_bands"] or {}
        if isinstance(bands, Mapping):
            # Known size classes in their order; unknown ones kept, so validation names them.
            order = [k for k in SIZE_KEYS if k in bands] + [k for k in bands if k not in SIZE_KEYS]
            bands = {
                k: list(bands[k]) if isinstance(bands[k], list | tuple) else bands[k] for k in order
            }
        out["price_bands"] = bands
    return out


def _own_platform_ids(provider: Provider) -> list[int]:
    return list(Platform.objects.filter(provider=provider).values_list("pk", flat=True))


def _state(product: Product) -> dict[str, Any]:
    state = snapshot(product, PRODUCT_FIELDS)
    state["scenes"] = dict(product.scenes.values_list("scene", "lifts_to").order_by("scene"))
    state["industries"] = sorted(product.industries.values_list("pk", flat=True))
    state["clusters"] = sorted(product.clusters.values_list("pk", flat=True))
    return state


def _write_relations(product: Product, data: Mapping[str, Any]) -> None:
    if "scenes" in data:
        wanted = {k: int(v) for k, v in (data["scenes"] or {}).items()}
        product.scenes.exclude(scene__in=list(wanted)).delete()
        existing = {s.scene: s for s in product.scenes.all()}
        for key, level in wanted.items():
            row = existing.get(key)
            if row is None:
                ProductScene.objects.create(product=product, scene=key, lifts_to=level)
            elif row.lifts_to != level:
                ProductScene.objects.filter(pk=row.pk).update(lifts_to=level)
    if "industries" in data:
        product.industries.set(list(data["industries"] or []))
    if "clusters" in data:
        product.clusters.set(list(data["clusters"] or []))


def _check_name_free(provider: Provider, name: str, exclude: int | None = None) -> None:
    same = Product.objects.filter(provider=provider, name=name)
    if exclude is not None:
        same = same.exclude(pk=exclude)
    if same.exists():
        raise ValidationError({"name": [_("本服务商已有同名产品“%(name)s”") % {"name": name}]})


@transaction.atomic
def product_create(*, provider: Provider, data: Mapping[str, Any], by: Any) -> Product:
    """A new draft product (or published, with data["status"] == "published")."""
    allowed, _reason = can_manage_products(by)
    own = provider_for(by)
    check((allowed and own is not None and own.pk == provider.pk, ""))
    # Lock the provider row: a double-clicked create finds the first one by its name.
    Provider.objects.select_for_update().filter(pk=provider.pk).first()
    data = _clean(data)
    status = data.get("status") or Product.Status.DRAFT
    if status not in (Product.Status.DRAFT, Product.Status.PUBLISHED):
        raise ValidationError({"status": [_("新产品只能保存为草稿或直接发布")]})
    _raise_if(
        product_problems(
            data,
            scene_keys=[s.key for s in catalogue_scenes()],
            platform_ids=_own_platform_ids(provider),
            publishing=status == Product.Status.PUBLISHED,
        )
    )
    _check_name_free(provider, data["name"])
    now = timezone.now()
    product = Product.objects.create(
        provider=provider,
        name=data["name"],
        summary=data["summary"],
        description=data.get("description", ""),
        deployment=data["deployment"],
        price_model=data["price_model"],
        price_bands=data.get("price_bands") or {},
        implementation_weeks=data["implementation_weeks"],
        data_residency=data["data_residency"],
        security_features=data.get("security_features") or [],
        platform=data.get("platform"),
        status=status,
        created_at=now,
        updated_at=now,
    )
    _write_relations(product, data)
    audit_record(actor=by, action="product.create", obj=product, after=_state(product))
    if status == Product.Status.PUBLISHED:
        _hide_if_uncertified(product, by)
        catalogue_bump()  # a draft is not in the catalogue: saving one changes nothing there
    return product


def _hide_if_uncertified(product: Product, by: Any) -> None:
    """Publishing while a mandatory certificate is lapsed or missing hides the product at
    once (the same visibility state the certificate job sets), not at the next tick."""
    from .vetting import provider_visibility_refresh

    provider_visibility_refresh(provider=product.provider_id, by=by, bump=False)
    product.refresh_from_db(fields=["visibility", "hidden_at"])


@transaction.atomic
def product_update(*, product: Product, data: Mapping[str, Any], by: Any) -> Product:
    """Change a product's fields (any subset of the create fields, scenes and targeting)."""
    check(can_edit_product(by, product))
    product = Product.objects.select_for_update().select_related("provider").get(pk=product.pk)
    before = _state(product)
    data = _clean(data)
    if "status" in data and data["status"] != product.status:
        raise ValidationError({"status": [_("请用发布或下架按钮改变发布状态")]})
    merged = {**before, "platform": product.platform_id, **data}
    merged.setdefault("scenes", before["scenes"])
    _raise_if(
        product_problems(
            merged,
            scene_keys=[s.key for s in catalogue_scenes()],
            platform_ids=_own_platform_ids(product.provider),
            publishing=product.status == Product.Status.PUBLISHED,
        )
    )
    if "name" in data:
        _check_name_free(product.provider, data["name"], exclude=product.pk)
    for field in PRODUCT_FIELDS:
        if field in data and field != "status":
            setattr(product, field, data[field])
    product.updated_at = timezone.now()
    product.save()
    _write_relations(product, data)
    old, new = changed(before, _state(product))
    if new:
        audit_record(actor=by, action="product.update", obj=product, before=old, after=new)
        if product.status == Product.Status.PUBLISHED:
            catalogue_bump()
    return product


@transaction.atomic
def product_scenes_set(*, product: Product, scenes: Mapping[str, int], by: Any) -> Product:
    """Replace the scenes a product covers ({scene key: level it lifts to})."""
    return product_update(product=product, data={"scenes": dict(scenes)}, by=by)


# One table for the publishing workflow: (state, action) → target state.
PUBLISH_TRANSITIONS: dict[tuple[str, str], str] = {
    (Product.Status.DRAFT, "publish"): Product.Status.PUBLISHED,
    (Product.Status.WITHDRAWN, "publish"): Product.Status.PUBLISHED,
    (Product.Status.PUBLISHED, "withdraw"): Product.Status.WITHDRAWN,
    (Product.Status.DRAFT, "withdraw"): Product.Status.WITHDRAWN,
}
ACTION_TARGET = {"publish": Product.Status.PUBLISHED, "withdraw": Product.Status.WITHDRAWN}


@transaction.atomic
def product_transition(*, product: Product, action: str, by: Any) -> Product:
    check(can_edit_product(by, product))
    product = Product.objects.select_for_update().select_related("provider").get(pk=product.pk)
    if product.status == ACTION_TARGET.get(action):
        return product  # a double click: already done, nothing to record
    target = PUBLISH_TRANSITIONS.get((product.status, action))
    if target is None:
        raise ValidationError(
            _("“%(status)s”状态的产品不能执行此操作") % {"status": product.get_status_display()}
        )
    if target == Product.Status.PUBLISHED:
        state = _state(product)
        _raise_if(
            product_problems(
                {**state, "platform": product.platform_id},
                scene_keys=[s.key for s in catalogue_scenes()],
                platform_ids=_own_platform_ids(product.provider),
                publishing=True,
            )
        )
    before = product.status
    product.status = target
    product.updated_at = timezone.now()
    product.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=by,
        action=f"product.{action}",
        obj=product,
        before={"status": before},
        after={"status": target},
    )
    if target == Product.Status.PUBLISHED:
        _hide_if_uncertified(product, by)
    if Product.Status.PUBLISHED in (before, target):
        catalogue_bump()  # draft → withdrawn never touched the catalogue
    return product


def product_publish(*, product: Product, by: Any) -> Product:
    return product_transition(product=product, action="publish", by=by)


def product_withdraw(*, product: Product, by: Any) -> Product:
    return product_transition(product=product, action="withdraw", by=by)


# -- selectors ------------------------------------------------------------------------------


def products_managed_by(user: Any) -> QuerySet[Product]:
    """A provider user's own products (any state); nothing for anyone else."""
    provider = provider_for(user)
    if provider is None:
        return Product.objects.none()
    return (
        Product.objects.filter(provider=provider)
        .select_related("provider", "platform")
        .prefetch_related("scenes")
        .order_by("name", "id")
    )


def platforms_of(provider: Provider) -> QuerySet[Platform]:
    return Platform.objects.filter(provider=provider).order_by("name")


def _price_low(size: str) -> Cast:
    return Cast(KT(f"price_bands__{size}__0"), IntegerField())


SORTS = ("relevance", "name", "price", "weeks", "trust")


def catalogue_search(
    *,
    q: str = "",
    scene: str = "",
    cluster: int | None = None,
    industry: str | None = None,
    deployment: str = "",
    size_class: str = "",
    price_max: int | None = None,
    weeks_max: int | None = None,
    residency: str = "",
    security: str = "",
    lead_only: bool = False,
    sort: str = "relevance",
) -> QuerySet[Product]:
    """The public catalogue, filtered and sorted; only what `catalogue_products()` allows."""
    qs = catalogue_products().select_related("provider__organisation")
    q = q.strip()
    if q:
        qs = qs.filter(
            Q(name__icontains=q) | Q(summary__icontains=q) | Q(provider__name__icontains=q)
        )
    if scene:
        qs = qs.filter(Exists(ProductScene.objects.filter(product=OuterRef("pk"), scene=scene)))
    if cluster:
        qs = qs.filter(
            Exists(
                Product.clusters.through.objects.filter(product=OuterRef("pk"), cluster_id=cluster)
            )
        )
    if industry:
        qs = qs.filter(
            Exists(
                Product.industries.through.objects.filter(
                    product=OuterRef("pk"), industry_id=industry
                )
            )
        )
    if deployment:
        qs = qs.filter(deployment=deployment)
    if price_max is not None and price_max < 0:
        raise ValidationError({"price_max": [_("价格上限不能为负数")]})
    if size_class in SIZE_KEYS:
        qs = qs.annotate(price_low=_price_low(size_class)).filter(price_low__isnull=False)
        if price_max is not None:
            qs = qs.filter(price_low__lte=price_max)
    elif price_max is not None:
        # No size chosen: the product's cheapest band counts, i.e. any band starting in budget.
        lows = {f"low_{size}": _price_low(size) for size in SIZE_KEYS}
        in_budget = Q()
        for name in lows:
            in_budget |= Q(**{f"{name}__lte": price_max})
        qs = qs.alias(**lows).filter(in_budget)
    if weeks_max is not None:
        qs = qs.filter(implementation_weeks__lte=weeks_max)
    if residency:
        qs = qs.filter(data_residency=residency)
    if security in SECURITY_KEYS:
        # JSON containment is not portable (SQLite lacks it); the key in quotes is unique text.
        qs = qs.annotate(security_text=Cast("security_features", TextField())).filter(
            security_text__contains=f'"{security}"'
        )
    if lead_only:
        qs = qs.filter(provider__organisation__is_lead_provider=True)
    if sort == "price":
        if "price_low" not in qs.query.annotations:
            qs = qs.annotate(
                price_low=_price_low(size_class if size_class in SIZE_KEYS else "small")
            )
        qs = qs.order_by(F("price_low").asc(nulls_last=True), "name", "id")
    elif sort == "weeks":
        qs = qs.order_by("implementation_weeks", "name", "id")
    elif sort == "trust":
        qs = qs.order_by("-provider__trust_score", "name", "id")
    elif sort == "relevance" and q:
        qs = qs.annotate(
            relevance=Case(
                When(name__icontains=q, then=Value(3)),
                When(summary__icontains=q, then=Value(2)),
                default=Value(1),
                output_field=IntegerField(),
            )
        ).order_by("-relevance", "name", "id")
    else:
        qs = qs.order_by("name", "id")
    return qs.prefetch_related(
        Prefetch("scenes", queryset=ProductScene.objects.order_by("-lifts_to", "scene"))
    )


def catalogue_product(user: Any, pk: int) -> Product | None:
    """One product for its detail page: in the catalogue, or the viewer's own (a preview)."""
    base = Product.objects.select_related("provider__organisation", "platform").prefetch_related(
        Prefetch("scenes", queryset=ProductScene.objects.order_by("-lifts_to", "scene")),
        "industries",
        "clusters",
    )
    found = base.filter(pk__in=catalogue_products().filter(pk=pk).values("pk")).first()
    if found is not None:
        return found
    own = provider_for(user)
    if own is not None:
        return base.filter(pk=pk, provider=own).first()
    return None


def catalogue_providers() -> QuerySet[Provider]:
    """Providers with a public profile: those in the pool."""
    return Provider.objects.filter(vetting_state=VettingState.APPROVED).select_related(
        "organisation"
    )


def valid_certificates_of(provider: Provider) -> QuerySet[Certificate]:
    """What the public provider page lists: approved certificates that have not expired."""
    return (
        Certificate.objects.filter(
            provider=provider,
            status=Certificate.Status.APPROVED,
            expires_on__gte=timezone.localdate(),
        )
        .select_related("type")
        .order_by("type__sort_order", "-expires_on", "id")
    )


@dataclass(frozen=True)
class ShownState:
    """Whether a provider's own product is in the public catalogue now, and why not."""

    label: str
    badge: str  # Tabler badge class
    note: str = ""
    shown: bool = False


def product_shown_state(product: Product, provider: Provider) -> ShownState:
    """The real state for “我的产品”: publishing, visibility and the provider's vetting state
    all decide it, in that order of what the provider can do about it."""
    state = provider.vetting_state
    if product.status != Product.Status.PUBLISHED:
        return ShownState(_("不展示（未发布）"), "bg-secondary-lt")
    if state == VettingState.SUSPENDED:
        return ShownState(_("不展示：入库资格已暂停"), "bg-red-lt", _("恢复入库后自动重新展示"))
    if state == VettingState.REVOKED:
        return ShownState(_("不展示：已从资源池除名"), "bg-red-lt")
    if state == VettingState.REJECTED:
        return ShownState(_("不展示：入库申请未通过"), "bg-red-lt")
    if state in PENDING_STATES:
        if product.visibility != Product.Visibility.VISIBLE:
            return ShownState(
                _("入库后展示"), "bg-blue-lt", _("审核通过且必备证书获认可后在公开目录中展示")
            )
        return ShownState(_("入库后展示"), "bg-blue-lt", _("审核通过后在公开目录中展示"))
    if product.visibility != Product.Visibility.VISIBLE:
        return ShownState(
            str(product.get_visibility_display()),
            "bg-red-lt",
            _("登记有效证书并通过审核后自动恢复展示"),
        )
    return ShownState(_("展示中"), "bg-green-lt", shown=True)


def compare_products(ids: Iterable[int]) -> list[Product]:
    """The products chosen for comparison that are still in the catalogue, in the order chosen."""
    ids = list(ids)
    found = {
        p.pk: p
        for p in catalogue_products()
        .filter(pk__in=ids)
        .select_related("provider__organisation", "platform")
        .prefetch_related("scenes", "industries", "clusters")
    }
    return [found[i] for i in ids if i in found]


# -- comparison (a session list, not a database record) ------------------------------------


def compare_ids(session: Any) -> list[int]:
    raw = session.get(COMPARE_SESSION_KEY) or []
    return [int(i) for i in raw if str(i).isdigit()][:COMPARE_LIMIT]


def compare_toggle(session: Any, product_id: int) -> tuple[str, str]:
    """Add or remove a product: ("added" | "removed" | "refused", message). A fifth is refused."""
    ids = compare_ids(session)
    if product_id in ids:
        ids.remove(product_id)
        session[COMPARE_SESSION_KEY] = ids
        return "removed", _("已移出对比")
    if not catalogue_products().filter(pk=product_id).exists():
        return "refused", _("该产品不在目录中")
    if len(ids) >= COMPARE_LIMIT:
        return "refused", _("最多同时对比 %(n)s 个产品，请先移除一个再添加") % {"n": COMPARE_LIMIT}
    ids.append(product_id)
    session[COMPARE_SESSION_KEY] = ids
    return "added", _("已加入对比")


def compare_clear(session: Any) -> None:
    session[COMPARE_SESSION_KEY] = []


# -- presentation helpers (pure) ---------------------------------------------------------------


def price_text(bands: Mapping[str, Any], size: str) -> str:
    band = (bands or {}).get(size)
    if not band:
        return "—"
    low, high = band
    return f"¥{low:,}" if low == high else f"¥{low:,}–{high:,}"


def trust_reason_texts(provider: Provider) -> list[str]:
    """trust_reasons as plain sentences (for the fallback panel and the export)."""
    from .trust import basis_text, reason_text

    out: list[str] = []
    for reason in provider.trust_reasons or []:
        if isinstance(reason, Mapping):
            text = reason_text(dict(reason)) if "code" in reason else str(reason.get("text", ""))
            basis = basis_text(dict(reason))
            text = f"{text}（{basis}）" if basis else text
            points = reason.get("points")
            out.append(f"{text}（{points:+}）" if isinstance(points, int) else text)
        else:
            out.append(str(reason))
    return out


@dataclass
class CompareRow:
    label: str
    values: list[str]

    @property
    def differs(self) -> bool:
        return len(set(self.values)) > 1


def compare_rows(products: list[Product], scenes: Iterable[SceneInfo]) -> list[CompareRow]:
    """The comparison table: one row per attribute, one value per product."""
    names = scene_names(scenes)
    rows = [
        CompareRow(_("服务商"), [p.provider.name for p in products]),
        CompareRow(_("可信等级"), [p.provider.trust_grade or "—" for p in products]),
        CompareRow(
            _("牵引单位"),
            [_("是") if p.provider.organisation.is_lead_provider else _("否") for p in products],
        ),
        CompareRow(_("部署方式"), [p.get_deployment_display() for p in products]),
        CompareRow(_("计费方式"), [p.get_price_model_display() for p in products]),
    ]
    for size, label in SIZE_CLASSES:
        rows.append(
            CompareRow(
                _("%(label)s报价（元/年）") % {"label": label},
                [price_text(p.price_bands, size) for p in products],
            )
        )
    rows.append(CompareRow(_("实施周期（周）"), [str(p.implementation_weeks) for p in products]))
    rows.append(CompareRow(_("数据存储位置"), [p.get_data_residency_display() for p in products]))
    levels = [{s.scene: s.lifts_to for s in p.scenes.all()} for p in products]
    keys = [k for k in names if any(k in lv for lv in levels)]
    for key in keys:
        rows.append(
            CompareRow(
                _("场景：%(name)s") % {"name": names[key]},
                [str(LEVEL_LABELS[lv[key]]) if key in lv else "—" for lv in levels],
            )
        )
    for key, label in SECURITY_FEATURES:
        rows.append(
            CompareRow(
                _("安全：%(name)s") % {"name": label},
                ["✓" if key in (p.security_features or []) else "—" for p in products],
            )
        )
    rows.append(
        CompareRow(
            _("适用产业集群"),
            ["、".join(c.name for c in p.clusters.all()) or _("通用") for p in products],
        )
    )
    rows.append(
        CompareRow(
            _("适用行业"),
            ["、".join(i.name for i in p.industries.all()) or _("通用") for p in products],
        )
    )
    return rows


def scene_rows(product: Product, names: Mapping[str, str]) -> list[tuple[str, int, str]]:
    """(scene name, level, level label) of a product, highest level first (uses the prefetch)."""
    return [
        (names.get(s.scene, s.scene), s.lifts_to, str(LEVEL_LABELS.get(s.lifts_to, s.lifts_to)))
        for s in product.scenes.all()
    ]
