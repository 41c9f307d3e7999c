"""Demo providers and products: a deterministic Dongguan provider pool written in bulk.

The same seed always gives the same pool. Every batch is written with bulk_create and
recorded as ONE audit entry naming its size and seed (like the enterprise generator), so the
hash chain still verifies. Trust ratings come from the supervision formula (a pure function)
over the platforms, certificates and incidents generated here, so their reasons read the same
as a live rating's.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from yunshu.accounts.models import Organisation, Role
from yunshu.core.audit import audit_record_many
from yunshu.core.bulk import analyze
from yunshu.core.demo import GIVEN, ROADS, SURNAMES, make_uscc
from yunshu.core.models import Cluster, Industry, Town

from .catalogue import SECURITY_KEYS, catalogue_scenes
from .catalogue_version import catalogue_bump
from .models import (
    Certificate,
    CertificateType,
    Incident,
    Platform,
    Product,
    ProductScene,
    Provider,
    VettingState,
)
from .trust import IncidentFacts, PlatformFacts, certificate_facts, trust_score

# (providers, products) per demo scale; `make run` uses small.
# Some generated providers are still being vetted or suspended, and some products are drafts or
# hidden for a lapsed certificate: the city scale leaves at least 1,000 providers in the pool
# and 10,000 products in the catalogue.
PROVIDER_SCALES = {"small": (40, 300), "city": (1_100, 11_800)}
CITY_ENTERPRISES = 200_000
# Ratings come from enterprises without accounts (the demo logins' own lists stay clean),
# drawn from the first this many by id: enough variety, one cheap query at city scale.
RATER_POOL = 5_000

BRANDS = [
    "云帆", "智造", "数联", "慧工", "莞智", "领航", "启明", "星云", "精益", "捷创",
    "易联", "中科", "粤数", "华云", "博远", "鼎新", "汇智", "睿信", "联讯", "天拓",
    "宏智", "正航", "致远", "擎天", "合创", "锐捷", "万维", "迅达", "海川", "朗坤",
    "极简", "信诺", "乐数", "云途", "新智", "优制", "创源", "智汇", "凌云", "松湖",
    "达实", "金盈", "友汇", "卓越", "先锋", "南湾", "聚云", "翼联", "赛博", "微匠",
]  # fmt: skip
TRADES = [
    "数字科技", "信息技术", "软件", "工业互联网科技", "云计算科技", "智能科技",
    "物联网科技", "数据科技", "网络科技", "智能制造技术",
]  # fmt: skip
PREFIXES = [
    ("东莞市", ""),
    ("广东", ""),
    ("东莞", ""),
    ("广州", "东莞分公司"),
    ("深圳市", "东莞分公司"),
]
DEMO_PROVIDER_NAME = "东莞云启数字科技有限公司"

# Product families: (primary scene, names, secondary scenes, weight).
FAMILIES: list[tuple[str, list[str], list[str], int]] = [
    ("production_control", ["MES 制造执行系统", "车间生产管控云", "轻量化 MES", "数字化车间看板"],
     ["planning_scheduling", "quality", "equipment"], 12),
    ("quality", ["QMS 质量管理系统", "SPC 质量分析云", "来料检验管理", "AI 视觉质检"],
     ["production_control", "procurement"], 9),
    ("equipment", ["设备物联平台", "设备点检与维保云", "TPM 设备管理", "设备预测性维护"],
     ["energy", "production_control", "safety"], 9),
    ("energy", ["能耗管理系统", "智慧能源监测", "碳排放管理平台"], ["equipment", "safety"], 6),
    ("planning_scheduling", ["APS 高级排程", "订单交期管理"],
     ["production_control", "procurement"], 5),
    ("warehousing_logistics", ["WMS 仓储管理系统", "条码仓库管理", "智慧物流调度"],
     ["procurement", "production_control"], 8),
    ("procurement", ["SRM 供应商协同平台", "采购管理云"], ["warehousing_logistics", "finance"], 4),
    ("finance", ["财务云", "业财一体化", "电子发票与费控", "小微 ERP", "云 ERP"],
     ["procurement", "warehousing_logistics", "marketing", "decision_support"], 10),
    ("marketing", ["CRM 客户管理", "订单管理云", "电商与渠道管理"], ["after_sales", "finance"], 7),
    ("after_sales", ["售后服务云", "客户服务工单"], ["marketing"], 3),
    ("product_design", ["PLM 产品数据管理", "云端 CAD 协同设计"], ["process_design"], 4),
    ("process_design", ["CAPP 工艺管理", "工艺数据管理"], ["product_design", "production_control"],
     3),
    ("safety", ["安全生产管理平台", "EHS 环境健康安全"], ["equipment", "energy"], 3),
    ("human_resources", ["HR 人事云", "计件工资与考勤"], ["collaboration"], 4),
    ("collaboration", ["协同办公 OA", "企业即时通讯与审批"], ["human_resources"], 3),
    ("decision_support", ["BI 经营驾驶舱", "数据中台轻量版"], ["finance", "production_control"], 4),
]  # fmt: skip
EDITIONS = ["", "", "", "标准版", "专业版", "轻量版", "云版", "V3"]
DEPLOYMENTS = [("saas", 55), ("hybrid", 20), ("private", 15), ("edge", 10)]
PRICE_MODELS = {
    "saas": ["subscription", "subscription", "per_user", "usage"],
    "hybrid": ["subscription", "project"],
    "private": ["one_off", "project"],
    "edge": ["one_off", "subscription"],
}
BASE_PRICE = {"saas": (3_000, 30_000), "hybrid": (20_000, 80_000), "private": (40_000, 150_000),
              "edge": (15_000, 60_000)}  # fmt: skip
SIZE_FACTORS = {
    "micro": (1.0, 1.0),
    "small": (2.0, 3.0),
    "medium": (4.0, 7.0),
    "large": (10.0, 20.0),
}
WEEKS = {"saas": (2, 6), "hybrid": (4, 12), "private": (6, 16), "edge": (4, 12)}
FEATURES = {
    "saas": ["encryption_transit", "tenant_isolation", "backup", "audit_log", "mfa", "data_export"],
    "hybrid": ["encryption_transit", "encryption_rest", "backup", "audit_log", "data_export"],
    "private": ["audit_log", "backup", "encryption_rest", "data_export"],
    "edge": ["ot_isolation", "encryption_transit", "audit_log", "backup"],
}
LOCATIONS = [
    ("广东东莞", True, 30), ("广东广州", True, 25), ("广东深圳", True, 20), ("贵州贵安", True, 10),
    ("内蒙古乌兰察布", True, 8), ("北京", True, 5), ("香港", False, 2),
]  # fmt: skip
INCIDENTS = [
    ("low", "短时服务中断，已恢复"),
    ("medium", "异常登录尝试被拦截"),
    ("high", "数据库主节点故障切换"),
    ("critical", "勒索软件攻击导致部分数据加密"),
]
BENEFITS = [
    "上线快、按需付费",
    "开箱即用、免运维",
    "数据可导出、随时退出",
    "专人驻厂实施",
    "支持手机端操作",
]


@dataclass
class _ProviderSpec:
    name: str
    brand: str
    uscc: str
    state: str
    lead: bool
    weight: float
    home_town: Any
    towns: list[int]
    clusters: list[Any]
    dengbao_expired_on: dt.date | None = None
    stars: list[int] = field(default_factory=list)
    platform_ids: list[int] = field(default_factory=list)
    product_names: set[str] = field(default_factory=set)


def provider_scale_for(enterprises: int) -> tuple[int, int]:
    """Providers and products to go with a demo world of this many enterprises."""
    return PROVIDER_SCALES["city" if enterprises >= CITY_ENTERPRISES else "small"]


def _unique_name(rng: random.Random, taken: set[str]) -> tuple[str, str]:
    for _attempt in range(50):
        brand = rng.choice(BRANDS)
        prefix, branch = rng.choice(PREFIXES)
        name = f"{prefix}{brand}{rng.choice(TRADES)}有限公司{branch}"
        if name not in taken:
            taken.add(name)
            return name, brand
    # The combinations ran out (very large pools): number the branch office.
    n = len(taken)
    name = f"东莞市{brand}{rng.choice(TRADES)}有限公司第{n}分公司"
    taken.add(name)
    return name, brand


def _states(n: int, rng: random.Random) -> list[str]:
    """~2% suspended, ~2% under review, ~1% just submitted, the rest approved."""
    counts = {
        VettingState.SUSPENDED: max(1, round(n * 0.02)) if n >= 20 else 0,
        VettingState.UNDER_REVIEW: max(1, round(n * 0.02)) if n >= 20 else 0,
        VettingState.SUBMITTED: round(n * 0.01),
    }
    states = [s for s, c in counts.items() for _ in range(c)]
    states += [VettingState.APPROVED] * (n - len(states))
    rng.shuffle(states)
    return [str(s) for s in states]


def _phone(rng: random.Random) -> str:
    return f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"


def _round_price(value: float) -> int:
    step = 100 if value < 20_000 else 1_000
    return int(round(value / step) * step)


def _price_bands(rng: random.Random, deployment: str) -> dict[str, list[int]]:
    lo, hi = BASE_PRICE[deployment]
    micro_low = rng.uniform(lo, hi)
    spread = rng.uniform(1.4, 2.6)
    sizes = ["micro", "small", "medium", "large"]
    if deployment == "private" and rng.random() < 0.5:
        sizes.remove("micro")
    if deployment == "saas" and rng.random() < 0.3:
        sizes.remove("large")
    bands: dict[str, list[int]] = {}
    previous = 0
    for size in sizes:
        f_lo, f_hi = SIZE_FACTORS[size]
        low = max(previous, _round_price(micro_low * rng.uniform(f_lo, f_hi)))
        high = max(low, _round_price(low * spread))
        bands[size] = [low, high]
        previous = low
    return bands


def _certificate_number(rng: random.Random, kind: str, year: int) -> str:
    if kind == "dengbao":
        return f"44190{rng.randint(10000, 99999)}-{year % 100:02d}{rng.randint(1, 999):03d}"
    if kind == "iso27001":
        return f"ISMS-{year}-{rng.randint(100000, 999999)}"
    return f"KXY-{year}-{rng.randint(1000, 9999)}"


@transaction.atomic
def generate_providers(
    n_providers: int, n_products: int, *, seed: int, batch: int = 2_000
) -> tuple[int, int]:
    """Write n_providers providers (organisation, pool record, towns and clusters served,
    platforms, certificates, a few incidents, trust rating) and n_products products spread
    over them. Returns (providers, products) written."""
    rng = random.Random(seed)
    today = timezone.localdate()
    now = timezone.now()
    towns = list(Town.objects.order_by("sort_order"))
    clusters = list(Cluster.objects.prefetch_related("industries").order_by("sort_order"))
    industries_of = {c.pk: [i.code for i in c.industries.all()] for c in clusters}
    cert_types = {t.key: t for t in CertificateType.objects.all()}
    dengbao = cert_types.get("dengbao")
    scene_keys = {s.key for s in catalogue_scenes()}
    families = [f for f in FAMILIES if f[0] in scene_keys]
    family_weights = [f[3] for f in families]
    raters = _raters()
    taken_names = set(Provider.objects.values_list("name", flat=True)) | {DEMO_PROVIDER_NAME}
    seen_uscc = set(Provider.objects.values_list("uscc", flat=True))

    # -- providers -------------------------------------------------------------------------
    states = _states(n_providers, rng)
    approved_idx = [i for i, s in enumerate(states) if s == VettingState.APPROVED]
    n_lead = min(len(approved_idx), max(2, round(n_providers * 0.018))) if n_providers else 0
    leads = set(rng.sample(approved_idx, n_lead))
    # A few approved providers let their 等保 filing lapse (products hidden), a few are about to.
    others = [i for i in approved_idx if i not in leads]
    n_flagged = max(1, round(n_providers * 0.02)) if n_providers >= 20 else 0
    flagged = rng.sample(others, min(len(others), 2 * n_flagged))
    expired, expiring = set(flagged[:n_flagged]), set(flagged[n_flagged:])

    specs: list[_ProviderSpec] = []
    for i in range(n_providers):
        name, brand = _unique_name(rng, taken_names)
        code = make_uscc(rng)
        while code in seen_uscc:
            code = make_uscc(rng)
        seen_uscc.add(code)
        lead = i in leads
        home = rng.choice(towns)
        if lead or rng.random() < 0.08:
            served = list(towns) if lead or rng.random() < 0.5 else rng.sample(towns, 20)
        else:
            served = [home, *rng.sample(towns, rng.randint(2, 10))]
        n_clusters = rng.randint(3, 6) if lead else rng.choices([1, 2, 3, 4], [35, 35, 20, 10])[0]
        specs.append(
            _ProviderSpec(
                name=name,
                brand=brand,
                uscc=code,
                state=states[i],
                lead=lead,
                weight=math.exp(rng.gauss(0, 0.7)) * (3 if lead else 1),
                home_town=home,
                towns=sorted({t.pk for t in served}),
                clusters=rng.sample(clusters, n_clusters),
            )
        )

    providers: list[Provider] = []
    for start in range(0, len(specs), batch):
        chunk = specs[start : start + batch]
        providers += _write_providers(
            chunk, rng, seed=seed, today=today, now=now, cert_types=cert_types,
            dengbao=dengbao, expired={j - start for j in expired if start <= j < start + batch},
            expiring={j - start for j in expiring if start <= j < start + batch},
            raters=raters,
        )  # fmt: skip

    # -- products ----------------------------------------------------------------------------
    owners = [i for i, s in enumerate(specs) if s.state != VettingState.SUSPENDED] or list(
        range(len(specs))
    )
    weights = [specs[i].weight for i in owners]
    made_products = 0
    rows: list[tuple[Product, dict[str, int], list[int], list[str]]] = []
    for k in range(n_products if specs else 0):
        index = owners[k] if k < len(owners) else rng.choices(owners, weights)[0]
        spec, provider = specs[index], providers[index]
        rows.append(
            _product(rng, spec, provider, families, family_weights, industries_of, now, today)
        )
        if len(rows) >= batch:
            made_products += _write_products(rows, seed)
            rows = []
    if rows:
        made_products += _write_products(rows, seed)
    catalogue_bump()
    _analyze()
    return len(providers), made_products


def _analyze() -> None:
    from yunshu.matching.models import Proposal, Rating

    # Without fresh statistics a 10,000-row catalogue count took 1 s (nested loops).
    analyze(
        Organisation, Provider, Product, ProductScene, Platform, Certificate, Incident,
        Proposal, Rating,
    )  # fmt: skip


def _raters() -> list[int]:
    from yunshu.enterprises.models import Enterprise

    return list(
        Enterprise.objects.filter(organisation__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:RATER_POOL]
    )


def rating_figures(stars: Sequence[int]) -> tuple[int, Decimal | None]:
    """Count and average exactly as yunshu.matching.ratings.provider_rating_refresh computes
    them from the rating rows, so a refresh finds the same figures."""
    if not stars:
        return 0, None
    average = (Decimal(sum(stars)) / len(stars)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return len(stars), average


def _delivered_ratings(
    rng: random.Random,
    brand: str,
    planned: Sequence[int],
    provider: Provider,
    raters: Sequence[int],
    now: dt.datetime,
) -> list[tuple[Any, Any]]:
    """One delivered proposal and its rating per planned star count (a Rating belongs to a
    delivered proposal), spread between the provider's approval and now; each by a different
    enterprise while the pool lasts."""
    from yunshu.matching.models import Proposal, Rating

    start = provider.approved_at or now - dt.timedelta(days=365)
    span = max(1.0, (now - start).total_seconds() - 86_400 * 10)
    who = rng.sample(list(raters), min(len(raters), len(planned)))
    rows = []
    for k, stars in enumerate(planned):
        delivered = start + dt.timedelta(seconds=rng.random() * span)
        weeks = rng.randint(2, 16)
        created = delivered - dt.timedelta(weeks=weeks)
        enterprise = who[k] if k < len(who) else rng.choice(raters)
        proposal = Proposal(
            provider=provider,
            enterprise_id=enterprise,
            title=f"{brand}数字化改造方案（{k + 1}）",
            body="按诊断结果分阶段上线，含培训和一年运维。",
            price_yuan=Decimal(rng.randrange(20_000, 400_000, 1_000)),
            weeks=weeks,
            state=Proposal.State.DELIVERED,
            created_at=created,
            decided_at=created + dt.timedelta(days=rng.randint(1, 10)),
            delivered_at=delivered,
        )
        rating = Rating(
            proposal=proposal,
            enterprise_id=enterprise,
            provider=provider,
            stars=stars,
            comment="",
            created_at=min(now, delivered + dt.timedelta(days=rng.randint(0, 10))),
        )
        rows.append((proposal, rating))
    return rows


def _write_providers(
    chunk: Sequence[_ProviderSpec],
    rng: random.Random,
    *,
    seed: int,
    today: dt.date,
    now: dt.datetime,
    cert_types: dict[str, CertificateType],
    dengbao: CertificateType | None,
    expired: set[int],
    expiring: set[int],
    raters: Sequence[int] = (),
) -> list[Provider]:
    """Plan every row in memory (so the trust rating is known before the first insert), then
    write them in foreign-key order: organisations, providers, their M2M rows, platforms,
    incidents, certificates, and the delivered proposals and ratings behind each provider's
    rating figures."""
    orgs: list[Organisation] = []
    providers: list[Provider] = []
    platforms: list[Platform] = []
    incidents: list[Incident] = []
    certificates: list[Certificate] = []
    for j, spec in enumerate(chunk):
        org = Organisation(
            kind=Role.PROVIDER, name=spec.name, uscc=spec.uscc, is_lead_provider=spec.lead
        )
        submitted = now - dt.timedelta(days=rng.randint(30, 700))
        in_pool = spec.state in (VettingState.APPROVED, VettingState.SUSPENDED)
        rated = in_pool and rng.random() < 0.6 and bool(raters)
        if rated:
            # Most providers have a handful of ratings, a few have dozens (about 8 on average).
            mean, count = rng.uniform(3.2, 5.0), min(40, 1 + int(rng.expovariate(1 / 7)))
            spec.stars = [min(5, max(1, round(rng.gauss(mean, 0.6)))) for _ in range(count)]
        rating_count, rating_average = rating_figures(spec.stars)
        p = Provider(
            organisation=org,
            uscc=spec.uscc,
            name=spec.name,
            summary=f"服务东莞{spec.clusters[0].name_zh}等产业集群的数字化转型服务商",
            description=(
                f"{spec.name}专注中小制造企业上云用数，提供诊断、实施和运维一体化服务，"
                f"在{spec.home_town.name_zh}设有本地服务团队。"
            ),
            contact_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
            contact_phone=_phone(rng),
            address=f"东莞市{spec.home_town.name_zh}{rng.choice(ROADS)}{rng.randint(1, 300)}号",
            vetting_state=spec.state,
            vetting_reason="年度复核未通过，限期整改" if spec.state == "suspended" else "",
            submitted_at=submitted,
            approved_at=submitted + dt.timedelta(days=rng.randint(7, 30)) if in_pool else None,
            rating_count=rating_count,
            rating_average=rating_average,
            created_at=submitted,
            updated_at=submitted,
        )
        orgs.append(org)
        providers.append(p)
        platform_facts: list[PlatformFacts] = []
        incident_facts: list[IncidentFacts] = []
        own_certificates: list[Certificate] = []
        for n in range(2 if rng.random() < 0.2 else 1):
            location, mainland, _w = rng.choices(LOCATIONS, [w for *_x, w in LOCATIONS])[0]
            platform = Platform(
                provider=p,
                name=f"{spec.brand}{'工业云平台' if n == 0 else '边缘数据平台'}",
                datacentre_location=location,
                datacentre_mainland=mainland,
                encryption_in_transit=rng.random() < 0.9,
                encryption_at_rest=rng.random() < 0.65,
                backup_rpo_hours=rng.choice([1, 4, 4, 12, 24, 24, 48, None]),
                backup_rto_hours=rng.choice([2, 4, 8, 24, 24, 72, None]),
                exit_plan="合同终止后 30 日内以通用格式返还全部数据并出具销毁证明"
                if rng.random() < 0.75
                else "",
                data_return_days=rng.choice([7, 15, 30, 30, 60, None]),
                updated_at=now,
            )
            platforms.append(platform)
            platform_facts.append(
                PlatformFacts(
                    name=platform.name,
                    mainland=platform.datacentre_mainland,
                    location=platform.datacentre_location,
                    encryption_in_transit=platform.encryption_in_transit,
                    encryption_at_rest=platform.encryption_at_rest,
                    rpo_hours=platform.backup_rpo_hours,
                    rto_hours=platform.backup_rto_hours,
                    exit_plan=bool(platform.exit_plan),
                    data_return_days=platform.data_return_days,
                )
            )
            if rng.random() < 0.08:
                severity, summary = rng.choices(INCIDENTS, [50, 30, 15, 5])[0]
                age = rng.randint(5, 500)
                resolved = rng.random() < 0.85
                occurred = now - dt.timedelta(days=age)
                incident = Incident(
                    platform=platform,
                    occurred_at=occurred,
                    severity=severity,
                    summary=summary,
                    data_affected=severity in ("high", "critical") and rng.random() < 0.5,
                    resolved_at=occurred + dt.timedelta(days=rng.randint(1, 10))
                    if resolved
                    else None,
                    resolution="已处置并完成复盘整改" if resolved else "",
                    reported_at=occurred,
                )
                incidents.append(incident)
                incident_facts.append(
                    IncidentFacts(
                        severity=severity,
                        resolved=resolved,
                        data_affected=incident.data_affected,
                        age_days=age,
                    )
                )
        status = Certificate.Status.APPROVED if in_pool else Certificate.Status.PENDING
        held: list[tuple[CertificateType, str, dt.date]] = []
        if dengbao is not None:
            level = "三级" if spec.lead or rng.random() < 0.35 else "二级"
            if j in expired:
                expires = today - dt.timedelta(days=rng.randint(3, 60))
                spec.dengbao_expired_on = expires
            elif j in expiring:
                expires = today + dt.timedelta(days=rng.randint(3, 29))
            else:
                expires = today + dt.timedelta(days=rng.randint(60, 1000))
            held.append((dengbao, level, expires))
        for key, share in (("iso27001", 0.35), ("trusted_cloud", 0.15)):
            if key in cert_types and rng.random() < share:
                held.append((cert_types[key], "", today + dt.timedelta(days=rng.randint(90, 1000))))
        for ctype, level, expires in held:
            issued = expires - dt.timedelta(days=365 * (3 if ctype.key == "iso27001" else 2))
            own_certificates.append(
                Certificate(
                    provider=p,
                    type=ctype,
                    level=level,
                    number=_certificate_number(rng, ctype.key, issued.year),
                    issuer="东莞市公安局" if ctype.key == "dengbao" else "中国质量认证中心",
                    issued_on=issued,
                    expires_on=expires,
                    status=status,
                    reviewed_at=p.approved_at if in_pool else None,
                    created_at=submitted,
                )
            )
        certificates += own_certificates
        # The same facts a live rating reads (trust.trust_inputs), so the reasons match.
        approved = [c for c in own_certificates if c.status == Certificate.Status.APPROVED]
        cert_facts = [
            facts
            for ctype in cert_types.values()
            if (facts := certificate_facts(ctype, [c for c in approved if c.type == ctype], today))
        ]
        result = trust_score(
            platforms=platform_facts, incidents=incident_facts, certificates=cert_facts
        )
        p.trust_score, p.trust_grade = result.score, result.grade
        p.trust_reasons = [r.as_json() for r in result.reasons]

    Organisation.objects.bulk_create(orgs)
    for p, org in zip(providers, orgs, strict=True):
        p.organisation = org  # now with its primary key
    Provider.objects.bulk_create(providers)
    Provider.towns_served.through.objects.bulk_create(
        [
            Provider.towns_served.through(provider_id=p.pk, town_id=t)
            for s, p in zip(chunk, providers, strict=True)
            for t in s.towns
        ],
        batch_size=5_000,
    )
    Provider.clusters_served.through.objects.bulk_create(
        [
            Provider.clusters_served.through(provider_id=p.pk, cluster_id=c.pk)
            for s, p in zip(chunk, providers, strict=True)
            for c in s.clusters
        ]
    )
    Platform.objects.bulk_create(platforms)
    by_provider = {p.pk: spec for spec, p in zip(chunk, providers, strict=True)}
    for platform in platforms:
        by_provider[platform.provider.pk].platform_ids.append(platform.pk)
    Incident.objects.bulk_create(incidents)
    Certificate.objects.bulk_create(certificates, batch_size=2_000)
    ratings = _write_ratings(chunk, providers, rng, raters, now)
    audit_record_many(
        actor=None,
        entries=[
            {
                "action": "demo.generate_providers",
                "object_type": "providers.provider",
                "object_id": f"{providers[0].uscc}..{providers[-1].uscc}",
                "object_label": f"{len(providers)} providers",
                "after": {
                    "batch_size": len(providers),
                    "seed": seed,
                    "platforms": len(platforms),
                    "certificates": len(certificates),
                    "incidents": len(incidents),
                    "ratings": ratings,
                },
            }
        ],
    )
    return providers


def _write_ratings(
    chunk: Sequence[_ProviderSpec],
    providers: Sequence[Provider],
    rng: random.Random,
    raters: Sequence[int],
    now: dt.datetime,
) -> int:
    from yunshu.matching.models import Proposal, Rating

    rows = [
        row
        for spec, p in zip(chunk, providers, strict=True)
        if spec.stars
        for row in _delivered_ratings(rng, spec.brand, spec.stars, p, raters, now)
    ]
    Proposal.objects.bulk_create([proposal for proposal, _r in rows], batch_size=2_000)
    for proposal, rating in rows:
        rating.proposal = proposal  # now with its primary key
    Rating.objects.bulk_create([rating for _p, rating in rows], batch_size=2_000)
    return len(rows)


def _product(
    rng: random.Random,
    spec: _ProviderSpec,
    provider: Provider,
    families: Sequence[tuple[str, list[str], list[str], int]],
    family_weights: Sequence[int],
    industries_of: dict[int, list[str]],
    now: dt.datetime,
    today: dt.date,
) -> tuple[Product, dict[str, int], list[int], list[str]]:
    primary, names, secondaries, _w = rng.choices(families, family_weights)[0]
    base = rng.choice(names)
    edition = rng.choice(EDITIONS)
    targeted = rng.random() < 0.65
    clusters = (
        rng.sample(spec.clusters, min(len(spec.clusters), rng.choice([1, 1, 2])))
        if targeted
        else []
    )
    if clusters and rng.random() < 0.3:
        edition = f"{clusters[0].name_zh[:2]}行业版"
    name = f"{spec.brand}{base}{edition and ' ' + edition}"
    n = 2
    while name in spec.product_names:
        name = f"{spec.brand}{base} V{n}"
        n += 1
    spec.product_names.add(name)

    deployment = rng.choices([d for d, _x in DEPLOYMENTS], [w for _x, w in DEPLOYMENTS])[0]
    scenes = {primary: rng.choices([2, 3, 4], [45, 40, 15])[0]}
    extra = [s for s in secondaries if s not in scenes]
    for key in rng.sample(extra, min(len(extra), rng.choices([0, 1, 2, 3], [35, 35, 20, 10])[0])):
        scenes[key] = rng.choice([2, 2, 3])
    industries: list[str] = []
    if clusters and rng.random() < 0.6:
        pool = sorted({code for c in clusters for code in industries_of.get(c.pk, [])})
        industries = rng.sample(pool, min(len(pool), rng.randint(1, 3)))
    weeks = max(2, min(16, rng.randint(*WEEKS[deployment])))
    features = [f for f in FEATURES[deployment] if rng.random() < 0.7]
    if primary in ("equipment", "energy", "safety") and rng.random() < 0.5:
        features.append("ot_isolation")
    residency = {
        "saas": rng.choices(["guangdong", "mainland", "overseas"], [60, 39, 1])[0],
        "hybrid": rng.choice(["on_premises", "guangdong"]),
        "private": "on_premises",
        "edge": "on_premises",
    }[deployment]
    if spec.state in (VettingState.SUBMITTED, VettingState.UNDER_REVIEW):
        status = "published" if rng.random() < 0.4 else "draft"
    else:
        status = rng.choices(["published", "draft", "withdrawn"], [90, 6, 4])[0]
    created = now - dt.timedelta(days=rng.randint(1, 400))
    # As the certificate job leaves them: hidden while the 等保 filing has lapsed, and a
    # pending provider's published product hidden until its filing is approved.
    pending = spec.state in (VettingState.SUBMITTED, VettingState.UNDER_REVIEW)
    hidden = spec.dengbao_expired_on is not None or (pending and status == "published")
    cluster_word = clusters[0].name_zh if clusters else "中小制造"
    on_platform = deployment in ("saas", "hybrid") and spec.platform_ids
    platform_id = spec.platform_ids[0] if on_platform else None
    product = Product(
        provider=provider,
        name=name,
        summary=f"面向{cluster_word}企业的{base}，{weeks} 周上线，{rng.choice(BENEFITS)}",
        description=(
            f"{base}帮助企业把{'、'.join(scenes)}相关业务搬上云端，"
            "按《中小企业数字化水平评测指标》的场景要求设计，提供上线培训和一年运维支持。"
        ),
        deployment=deployment,
        price_model=rng.choice(PRICE_MODELS[deployment]),
        price_bands=_price_bands(rng, deployment),
        implementation_weeks=weeks,
        data_residency=residency,
        security_features=[k for k in SECURITY_KEYS if k in features],
        platform_id=platform_id,
        status=status,
        visibility=Product.Visibility.HIDDEN_CERTIFICATE if hidden else Product.Visibility.VISIBLE,
        hidden_at=(
            timezone.make_aware(dt.datetime.combine(spec.dengbao_expired_on, dt.time(2)))
            + dt.timedelta(days=1)
            if spec.dengbao_expired_on
            else created if hidden else None
        ),
        created_at=created,
        updated_at=created,
    )  # fmt: skip
    return product, scenes, [c.pk for c in clusters], industries


def _write_products(
    rows: list[tuple[Product, dict[str, int], list[int], list[str]]], seed: int
) -> int:
    products = Product.objects.bulk_create([r[0] for r in rows], batch_size=2_000)
    ProductScene.objects.bulk_create(
        [
            ProductScene(product_id=p.pk, scene=key, lifts_to=level)
            for p, (_x, scenes, _c, _i) in zip(products, rows, strict=True)
            for key, level in scenes.items()
        ],
        batch_size=5_000,
    )
    Product.clusters.through.objects.bulk_create(
        [
            Product.clusters.through(product_id=p.pk, cluster_id=c)
            for p, (_x, _s, clusters, _i) in zip(products, rows, strict=True)
            for c in clusters
        ],
        batch_size=5_000,
    )
    Product.industries.through.objects.bulk_create(
        [
            Product.industries.through(product_id=p.pk, industry_id=code)
            for p, (_x, _s, _c, industries) in zip(products, rows, strict=True)
            for code in industries
        ],
        batch_size=5_000,
    )
    audit_record_many(
        actor=None,
        entries=[
            {
                "action": "demo.generate_products",
                "object_type": "providers.product",
                "object_id": f"{products[0].pk}..{products[-1].pk}",
                "object_label": f"{len(products)} products",
                "after": {"batch_size": len(products), "seed": seed},
            }
        ],
    )
    return len(products)


# -- the demo "provider" login's own pool record -----------------------------------------------

DEMO_TOWNS = ["虎门", "长安", "松山湖", "东城", "南城", "大朗", "厚街", "常平"]
DEMO_CLUSTERS = ["textile", "electronics", "hardware_moulds"]
DEMO_PRODUCTS: list[dict[str, Any]] = [
    {
        "name": "云启 MES 轻量版",
        "summary": "面向纺织服装和电子企业的轻量化制造执行系统，4 周上线，按年订阅",
        "scenes": {"production_control": 3, "planning_scheduling": 2, "quality": 2},
        "clusters": ["textile", "electronics"],
        "industries": ["17", "18", "39"],
        "deployment": "saas",
        "price_model": "subscription",
        "price_bands": {"micro": [8_000, 15_000], "small": [18_000, 36_000],
                        "medium": [45_000, 90_000], "large": [120_000, 240_000]},
        "implementation_weeks": 4,
        "data_residency": "guangdong",
        "security_features": ["encryption_transit", "encryption_rest", "mfa", "audit_log",
                              "backup", "tenant_isolation", "data_export"],
    },
    {
        "name": "云启 QMS 质量云",
        "summary": "来料、过程和出货检验一体化，SPC 自动预警，3 周上线",
        "scenes": {"quality": 3, "procurement": 2},
        "clusters": ["electronics", "hardware_moulds"],
        "industries": ["33", "39"],
        "deployment": "saas",
        "price_model": "per_user",
        "price_bands": {"micro": [5_000, 9_000], "small": [12_000, 24_000],
                        "medium": [30_000, 60_000]},
        "implementation_weeks": 3,
        "data_residency": "guangdong",
        "security_features": ["encryption_transit", "mfa", "audit_log", "backup",
                              "tenant_isolation", "data_export"],
    },
    {
        "name": "云启设备物联平台",
        "summary": "注塑机、CNC 和空压机联网采集，停机分析和点检维保，边缘网关即插即用",
        "scenes": {"equipment": 3, "energy": 2, "production_control": 2},
        "clusters": ["hardware_moulds", "electronics"],
        "industries": ["33", "34", "39"],
        "deployment": "edge",
        "price_model": "one_off",
        "price_bands": {"micro": [20_000, 40_000], "small": [40_000, 80_000],
                        "medium": [90_000, 180_000], "large": [200_000, 400_000]},
        "implementation_weeks": 6,
        "data_residency": "on_premises",
        "security_features": ["ot_isolation", "encryption_transit", "audit_log", "backup"],
    },
    {
        "name": "云启 WMS 仓储管理",
        "summary": "条码收发存、库位管理和批次追溯，手机扫码作业",
        "scenes": {"warehousing_logistics": 3, "procurement": 2},
        "clusters": ["textile"],
        "industries": ["18", "19"],
        "deployment": "saas",
        "price_model": "subscription",
        "price_bands": {"micro": [6_000, 12_000], "small": [15_000, 30_000],
                        "medium": [40_000, 80_000]},
        "implementation_weeks": 3,
        "data_residency": "guangdong",
        "security_features": ["encryption_transit", "audit_log", "backup", "tenant_isolation",
                              "data_export"],
    },
    {
        "name": "云启业财一体化",
        "summary": "订单、采购、库存和财务凭证一体化，自动对账，适合小微企业",
        "scenes": {"finance": 3, "marketing": 2, "decision_support": 2},
        "clusters": [],
        "industries": [],
        "deployment": "saas",
        "price_model": "subscription",
        "price_bands": {"micro": [3_000, 6_000], "small": [8_000, 16_000],
                        "medium": [20_000, 40_000], "large": [60_000, 120_000]},
        "implementation_weeks": 2,
        "data_residency": "mainland",
        "security_features": ["encryption_transit", "encryption_rest", "mfa", "audit_log",
                              "backup", "tenant_isolation", "data_export"],
    },
    {
        "name": "云启能耗管理系统",
        "summary": "分车间、分设备的电、水、气计量与能耗分析，峰谷用电优化",
        "scenes": {"energy": 3, "equipment": 2},
        "clusters": ["hardware_moulds", "textile"],
        "industries": ["17", "33"],
        "deployment": "hybrid",
        "price_model": "project",
        "price_bands": {"small": [30_000, 60_000], "medium": [60_000, 120_000],
                        "large": [150_000, 300_000]},
        "implementation_weeks": 8,
        "data_residency": "on_premises",
        "security_features": ["encryption_transit", "encryption_rest", "audit_log", "backup",
                              "ot_isolation", "data_export"],
    },
]  # fmt: skip


# The demo provider's customers: 15 ratings averaging 4.60 (9 five-star, 6 four-star).
DEMO_STARS = [5] * 9 + [4] * 6


def _write_demo_ratings(rng: random.Random, provider: Provider, now: dt.datetime) -> int:
    from yunshu.matching.models import Proposal, Rating

    raters = _raters()
    if not raters:
        return 0
    rows = _delivered_ratings(rng, "云启", DEMO_STARS, provider, raters, now)
    Proposal.objects.bulk_create([proposal for proposal, _r in rows])
    for proposal, rating in rows:
        rating.proposal = proposal
    Rating.objects.bulk_create([rating for _p, rating in rows])
    count, average = rating_figures(DEMO_STARS)
    Provider.objects.filter(pk=provider.pk).update(rating_count=count, rating_average=average)
    return len(rows)


@transaction.atomic
def demo_provider_setup(*, seed: int = 2026) -> Provider | None:
    """Give the demo "provider" login's organisation an approved lead pool record with a
    platform, a valid 等保三级 filing and six published products. Idempotent."""
    from django.contrib.auth import get_user_model

    user = (
        get_user_model().objects.filter(username="provider").select_related("organisation").first()
    )
    org = getattr(user, "organisation", None)
    if org is None or org.kind != Role.PROVIDER:
        return None
    rng = random.Random(seed)
    now, today = timezone.now(), timezone.localdate()
    entries: list[dict[str, Any]] = []
    provider = Provider.objects.filter(organisation=org).first()
    if provider is None:
        code = org.uscc
        taken = set(Provider.objects.values_list("uscc", flat=True))
        while not code or code in taken:
            code = make_uscc(rng)
        Organisation.objects.filter(pk=org.pk).update(uscc=code, is_lead_provider=True)
        provider = Provider.objects.create(
            organisation=org,
            uscc=code,
            name=org.name,
            summary="东莞本地工业互联网服务商，专注纺织服装、电子信息和五金模具集群的小快轻准改造",
            description="在虎门、长安和松山湖设有驻场团队，提供诊断、实施、运维和数据返还一体化服务。",
            website="https://yunqi.example.cn",
            contact_name="陈经理",
            contact_phone="13800000000",
            address="东莞市松山湖科技路 8 号",
            vetting_state=VettingState.APPROVED,
            submitted_at=now - dt.timedelta(days=400),
            approved_at=now - dt.timedelta(days=380),
        )
        provider.towns_served.set(Town.objects.filter(name_zh__in=DEMO_TOWNS))
        provider.clusters_served.set(Cluster.objects.filter(key__in=DEMO_CLUSTERS))
        rated = _write_demo_ratings(rng, provider, now)
        if rated:
            entries.append({"action": "demo.provider_setup", "object_type": "matching.rating",
                            "object_id": provider.pk, "object_label": f"{rated} ratings",
                            "after": {"ratings": rated}})  # fmt: skip
        entries.append({"action": "demo.provider_setup", "object_type": "providers.provider",
                        "object_id": provider.pk, "object_label": provider.name,
                        "after": {"vetting_state": "approved", "lead": True,
                                  "seed": seed}})  # fmt: skip
    platform = Platform.objects.filter(provider=provider).first()
    if platform is None:
        platform = Platform.objects.create(
            provider=provider,
            name="云启工业云平台",
            datacentre_location="广东东莞",
            datacentre_mainland=True,
            encryption_in_transit=True,
            encryption_at_rest=True,
            backup_rpo_hours=4,
            backup_rto_hours=4,
            exit_plan="合同终止后 15 日内以 Excel/CSV 和数据库备份两种格式返还全部数据，"
            "并出具销毁证明",
            data_return_days=15,
        )
        entries.append({"action": "demo.provider_setup", "object_type": "providers.platform",
                        "object_id": platform.pk, "object_label": platform.name})  # fmt: skip
    dengbao = CertificateType.objects.filter(key="dengbao").first()
    has_valid = Certificate.objects.filter(
        provider=provider, type__key="dengbao", status="approved", expires_on__gte=today
    ).exists()
    if dengbao is not None and not has_valid:
        cert = Certificate.objects.create(
            provider=provider,
            type=dengbao,
            level="三级",
            number="44190088888-25001",
            issuer="东莞市公安局",
            issued_on=today - dt.timedelta(days=200),
            expires_on=today + dt.timedelta(days=530),
            status=Certificate.Status.APPROVED,
            reviewed_at=now,
        )
        entries.append({"action": "demo.provider_setup", "object_type": "providers.certificate",
                        "object_id": cert.pk, "object_label": str(cert)})  # fmt: skip
        iso = CertificateType.objects.filter(key="iso27001").first()
        if iso is not None:
            cert = Certificate.objects.create(
                provider=provider,
                type=iso,
                number="ISMS-2025-440188",
                issuer="中国质量认证中心",
                issued_on=today - dt.timedelta(days=300),
                expires_on=today + dt.timedelta(days=795),
                status=Certificate.Status.APPROVED,
                reviewed_at=now,
            )
            entries.append({"action": "demo.provider_setup", "object_type": "providers.certificate",
                            "object_id": cert.pk, "object_label": str(cert)})  # fmt: skip
    existing = set(Product.objects.filter(provider=provider).values_list("name", flat=True))
    clusters = {c.key: c for c in Cluster.objects.all()}
    for spec in DEMO_PRODUCTS:
        if spec["name"] in existing:
            continue
        product = Product.objects.create(
            provider=provider,
            name=spec["name"],
            summary=spec["summary"],
            description=spec["summary"] + "。提供上线培训、一年运维和数据导出。",
            deployment=spec["deployment"],
            price_model=spec["price_model"],
            price_bands=spec["price_bands"],
            implementation_weeks=spec["implementation_weeks"],
            data_residency=spec["data_residency"],
            security_features=spec["security_features"],
            platform=platform if spec["deployment"] in ("saas", "hybrid") else None,
            status=Product.Status.PUBLISHED,
        )
        ProductScene.objects.bulk_create(
            [ProductScene(product=product, scene=k, lifts_to=v) for k, v in spec["scenes"].items()]
        )
        product.clusters.set([clusters[k] for k in spec["clusters"] if k in clusters])
        product.industries.set(Industry.objects.filter(code__in=spec["industries"]))
        entries.append({"action": "demo.provider_setup", "object_type": "providers.product",
                        "object_id": product.pk, "object_label": product.name,
                        "after": {"status": "published", "scenes": spec["scenes"]}})  # fmt: skip
    from .trust import provider_trust

    result = provider_trust(provider)
    Provider.objects.filter(pk=provider.pk).update(
        trust_score=result.score,
        trust_grade=result.grade,
        trust_reasons=[r.as_json() for r in result.reasons],
    )
    if entries:
        audit_record_many(actor=None, entries=entries)
        catalogue_bump()
    provider.refresh_from_db()
    return provider
