"""A deterministic demo world: Dongguan's towns and clusters, enterprises and one user per role.

The same seed and scale always give the same world. Bulk writes are audited one entry per
batch, naming its size and seed, so the chain still verifies.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from yunshu.accounts.models import Organisation, Role
from yunshu.enterprises.models import DataGrant, Enterprise, OperatingStatus

from . import uscc
from .audit import audit_record, audit_record_many
from .bulk import analyze, bulk_insert
from .models import Cluster, Industry, Town
from .size_class import size_class
from .versions import data_changed

SCALES = {"small": 2_000, "city": 200_000}
DEMO_PASSWORD = "yunshu-demo-2026"
ORG_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # organisation codes drawn from the USCC set

BRANDS = [
    "华盛",
    "鸿达",
    "永利",
    "金辉",
    "新锐",
    "伟业",
    "宏图",
    "联丰",
    "信达",
    "德力",
    "精工",
    "盈通",
    "恒泰",
    "瑞丰",
    "东鹏",
    "富源",
    "嘉华",
    "利达",
    "志高",
    "鎏海",
    "昌盛",
    "万顺",
    "宝丰",
    "荣华",
    "顺发",
    "兴业",
    "天誉",
    "中冠",
    "骏达",
    "美嘉",
    "创明",
    "正扬",
    "达丰",
    "佳利",
    "明辉",
    "汇通",
    "凯旋",
    "安泰",
    "长盈",
    "立信",
    "锦华",
    "广源",
    "超越",
    "新世纪",
    "同创",
    "诚达",
    "智联",
    "海纳",
    "乐新",
    "昊天",
]
TRADES = {
    "13": "食品加工",
    "14": "食品",
    "15": "饮料",
    "16": "烟草制品",
    "17": "纺织",
    "18": "服装",
    "19": "鞋业",
    "20": "木业",
    "21": "家具",
    "22": "纸业",
    "23": "印刷",
    "24": "玩具",
    "25": "石化",
    "26": "化工",
    "27": "医药",
    "28": "化纤",
    "29": "塑胶",
    "30": "建材",
    "31": "钢铁",
    "32": "有色金属",
    "33": "五金",
    "34": "机械",
    "35": "设备",
    "36": "汽车配件",
    "37": "运输设备",
    "38": "电器",
    "39": "电子",
    "40": "仪器",
    "41": "工艺品",
    "42": "再生资源",
    "43": "设备维修",
}
ROADS = ("工业大道", "科技路", "环城路", "振兴路", "富民路")
SUFFIXES = ("有限公司", "科技有限公司", "实业有限公司", "制品有限公司", "制造有限公司")
SURNAMES = [
    "陈",
    "李",
    "张",
    "黄",
    "王",
    "刘",
    "林",
    "叶",
    "钟",
    "何",
    "梁",
    "郑",
    "罗",
    "谢",
    "麦",
    "袁",
    "卢",
    "邓",
    "莫",
    "蔡",
]
GIVEN = [
    "伟",
    "芳",
    "敏",
    "强",
    "丽",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "华",
    "平",
    "辉",
    "玲",
    "斌",
    "婷",
    "健",
    "鹏",
    "静",
    "海",
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    organisation: str


def _org_code(rng: random.Random) -> str:
    """A 9-character organisation code whose own GB 11714 check character is right."""
    while True:
        body = "".join(rng.choice(ORG_CHARS) for _ in range(8))
        check = uscc.org_code_check_character(body)
        if check in ORG_CHARS:
            return body + check


def make_uscc(rng: random.Random, area: str = "441900") -> str:
    return uscc.make("91" + area + _org_code(rng))


def _employees(rng: random.Random) -> int:
    # Log-normal around 25 people: most firms are small and micro, a few are large.
    return max(1, min(20_000, int(math.exp(rng.gauss(3.2, 1.25)))))


def _revenue(rng: random.Random, employees: int) -> Decimal:
    per_head = math.exp(rng.gauss(math.log(350_000), 0.6))  # yuan per employee
    return Decimal(int(employees * per_head / 100) * 100)


@transaction.atomic
def generate_enterprises(count: int, *, seed: int = 2026, batch: int = 5_000) -> int:
    rng = random.Random(seed)
    towns = list(Town.objects.order_by("sort_order"))
    clusters = list(Cluster.objects.prefetch_related("industries", "towns_known_for"))
    industries = {i.code: i for i in Industry.objects.all()}
    cluster_of = {ind.code: c for c in clusters for ind in c.industries.all()}
    cluster_weights = [
        8 if c.key in ("electronics", "equipment", "hardware_moulds") else 4 for c in clusters
    ]
    seen = set(Enterprise.objects.values_list("uscc", flat=True)) if count < 50_000 else set()
    now = timezone.now()
    made = 0
    rows: list[Enterprise] = []
    for i in range(count):
        # The first rows walk every town and cluster so each has enterprises.
        cluster = (
            clusters[i % len(clusters)]
            if i < len(clusters)
            else rng.choices(clusters, cluster_weights)[0]
        )
        codes = [ind.code for ind in cluster.industries.all()]
        industry = industries[rng.choice(codes)]
        known = list(cluster.towns_known_for.all())
        if i < len(towns):
            town = towns[i]
        elif known and rng.random() < 0.45:
            town = rng.choice(known)
        else:
            town = rng.choice(towns)
        code = make_uscc(rng)
        while code in seen:
            code = make_uscc(rng)
        seen.add(code)
        employees = _employees(rng)
        revenue = _revenue(rng, employees)
        name = f"东莞市{rng.choice(BRANDS)}{TRADES[industry.code]}{rng.choice(SUFFIXES)}"
        year = rng.randint(1995, 2023)
        rows.append(
            Enterprise(
                uscc=code,
                name=name,
                town=town,
                industry=industry,
                cluster=cluster_of.get(industry.code),
                employees=employees,
                employees_year=2025,
                revenue=revenue,
                revenue_year=2025,
                size_class=size_class(employees, revenue),
                registered_on=dt.date(year, rng.randint(1, 12), rng.randint(1, 28)),
                status=OperatingStatus.ACTIVE if rng.random() > 0.02 else OperatingStatus.SUSPENDED,
                above_scale=revenue >= Decimal(20_000_000),
                specialised=rng.random() < (0.12 if revenue >= Decimal(20_000_000) else 0.01),
                contact_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                contact_phone=f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
                address=f"东莞市{town.name_zh}{rng.choice(ROADS)}{rng.randint(1, 300)}号",
                created_at=now,
                updated_at=now,
            )
        )
        if len(rows) >= batch:
            made += _flush(rows, seed)
            rows = []
    if rows:
        made += _flush(rows, seed)
    analyze(Enterprise, Organisation)
    return made


def _flush(rows: list[Enterprise], seed: int) -> int:
    bulk_insert(Enterprise, rows)
    audit_record_many(
        actor=None,
        entries=[
            {
                "action": "demo.generate_enterprises",
                "object_type": "enterprises.enterprise",
                "object_id": f"{rows[0].uscc}..{rows[-1].uscc}",
                "object_label": f"{len(rows)} enterprises",
                "after": {"batch_size": len(rows), "seed": seed},
            }
        ],
    )
    return len(rows)


@transaction.atomic
def create_demo_users(*, password: str = DEMO_PASSWORD) -> list[DemoUser]:
    User = get_user_model()
    humen = Town.objects.get(name_zh="虎门")
    enterprise = (
        Enterprise.objects.filter(town=humen, cluster__key="textile").order_by("id").first()
        or Enterprise.objects.order_by("id").first()
    )
    orgs: list[tuple[str, str, dict[str, Any]]] = [
        ("city", "东莞市工业和信息化局", {"kind": Role.CITY}),
        ("town", "虎门镇经济发展局", {"kind": Role.TOWN, "town": humen}),
        ("provider", "东莞云启数字科技有限公司", {"kind": Role.PROVIDER, "is_lead_provider": True}),
        ("expert", "东莞市数字化转型评审专家库", {"kind": Role.EXPERT}),
        ("assessor", "广东数评检测认证有限公司", {"kind": Role.ASSESSOR}),
        ("college", "东莞职业技术学院", {"kind": Role.COLLEGE}),
    ]
    made: list[DemoUser] = []
    if enterprise is not None:
        ent_org, _ = Organisation.objects.get_or_create(
            enterprise=enterprise,
            defaults={"kind": Role.ENTERPRISE, "name": enterprise.name, "uscc": enterprise.uscc},
        )
        orgs.insert(0, ("enterprise", ent_org.name, {"kind": Role.ENTERPRISE, "_org": ent_org}))
        Enterprise.objects.filter(pk=enterprise.pk).update(on_transformation_list=True)
        data_changed("enterprises")
    by_key: dict[str, Organisation] = {}
    for username, name, fields in orgs:
        org = fields.pop("_org", None)
        if org is None:
            org, _ = Organisation.objects.get_or_create(
                name=name, kind=fields["kind"], defaults=fields
            )
        by_key[username] = org
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "organisation": org,
                "is_org_admin": True,
                "display_name": {"city": "市局管理员", "town": "虎门镇专员"}.get(
                    username, username
                ),
                "email": f"{username}@demo.yunshu.local",
            },
        )
        if created:
            user.set_password(password)
            user.save()
            audit_record(
                actor=None, action="demo.create_user", obj=user, after={"organisation": org.pk}
            )
        made.append(DemoUser(username, str(Role(org.kind).label), org.name))
    if enterprise is not None and not DataGrant.objects.filter(enterprise=enterprise).exists():
        grant = DataGrant.objects.create(
            enterprise=enterprise,
            provider=by_key["provider"],
            scope_profile=True,
            scope_assessments=True,
            purpose="数字化诊断",
            expires_at=timezone.now() + dt.timedelta(days=180),
        )
        audit_record(
            actor=None, action="demo.grant", obj=grant, after={"provider": grant.provider_id}
        )
    return made


def demo_users() -> list[DemoUser]:
    """The demo logins that exist in this database (they may have been removed)."""
    User = get_user_model()
    order = [r.value for r in Role]
    users = User.objects.filter(username__in=order, organisation__isnull=False).select_related(
        "organisation"
    )
    found = {
        u.username: DemoUser(u.username, str(Role(org.kind).label), org.name)
        for u in users
        if (org := u.organisation) is not None
    }
    return [found[name] for name in order if name in found]


def build_demo_world(*, scale: str | int = "small", seed: int = 2026) -> tuple[int, list[DemoUser]]:
    from yunshu.assessments.demo import generate_assessments

    count = SCALES[scale] if isinstance(scale, str) else int(scale)
    made = generate_enterprises(count, seed=seed)
    users = create_demo_users()
    # One enterprise in four has assessed its digital maturity and one in eight its security
    # (50,000 and 25,000 at city scale), not always the same firms.
    generate_assessments(count // 4, seed=seed, kinds=("maturity",))
    generate_assessments(count // 8, seed=seed + 1, kinds=("security",))
    # The provider pool: 40 providers / 300 products (small), 1,100 / 11,800 (city scale).
    from yunshu.providers.demo import demo_provider_setup, generate_providers, provider_scale_for

    generate_providers(*provider_scale_for(count), seed=seed)
    demo_provider_setup(seed=seed)
    return made, users
