"""Three realistic enterprises scored by hand, the arithmetic written out beside each line."""

from decimal import Decimal

import pytest

from yunshu.assessments import engine
from yunshu.assessments.definitions import QUESTIONNAIRE_DIR, RULE_DIR

Q = engine.load_questionnaire(engine.read_json(QUESTIONNAIRE_DIR / "maturity-2024.json"))
RULE = engine.load_rule(engine.read_json(RULE_DIR / "maturity-2024-default.json"), Q)
D = Decimal


def test_humen_garment_factory_reaches_level_2():
    answers = {
        "network_build": ["workshop_control_network", "device_people_system_network"],  # 2+2 = 4
        "equipment_digitised_rate": 35,  # band 20–40 → 3
        "equipment_networked_rate": 15,  # band 10–20 → 1.5
        "data_collection": [  # 4 × 0.7 + 人力资源 0.9 = 3.7
            "production_planning",
            "warehousing_logistics",
            "sales",
            "finance",
            "human_resources",
        ],
        "information_systems": "two_or_more",  # 5
        "network_security": ["policy"],  # 1.25
        "data_security": ["protection_measures"],  # 1.25
        # foundation = 4 + 3 + 1.5 + 3.7 + 5 + 1.25 + 1.25 = 19.7
        "planning": "written_plan",  # 3
        "mechanisms": ["lead_organisation"],  # 1.875
        "talent": ["staff_training", "dedicated_staff"],  # 2 × 1.5 = 3
        "digital_spend_share": {"spend": 60, "revenue": 6000},  # 1% → band 1–2 → 3
        # management = 3 + 1.875 + 3 + 3 = 10.875
        "energy_trend": "same",  # 3.5
        "pass_rate": 96,  # band 95–98 → 5.25
        "revenue_per_employee": {"current": 52, "previous": 50},  # +4% → band 0–5 → 1
        "cost_per_100": "same",  # 1.5
        # results = 3.5 + 5.25 + 1 + 1.5 = 11.25
    }
    scenes = {
        "product_design": 1,
        "process_design": 1,
        "marketing": 2,
        "after_sales": 1,
        "planning_scheduling": 1,
        "production_control": 2,
        "quality": 2,
        "equipment": 1,
        "safety": 1,
        "energy": 1,
        "procurement": 2,
        "warehousing_logistics": 2,
        "finance": 2,
        "human_resources": 2,
        "collaboration": 2,
        "decision_support": 1,
    }
    r = engine.score_maturity(Q, RULE, answers, scenes)
    assert r.dimensions == {
        "foundation": D("19.7"),
        "management": D("10.875"),
        "results": D("11.25"),
    }
    assert r.total == D("41.825")  # 19.7 + 10.875 + 11.25
    # At level 2 or above: 营销 生产管控 质量 采购 仓储 财务 人力 协同 = 8 scenes, of which
    # 营销 生产管控 质量 采购 仓储 财务 = 6 mandatory. Level 2 needs base ≥ 40, 6 scenes, 3
    # mandatory: met. Level 3 needs base ≥ 60: not met.
    assert r.level == 2
    assert engine.level_label(r.level) == "二级"
    assert r.next_level == {
        "level": 3,
        "level_label": "三级",
        "base_points_needed": 18.175,  # 60 − 41.825
        "scenes_needed": 8,
        "mandatory_scenes_needed": 5,  # none at level 3 yet
    }


def test_changan_parts_workshop_reaches_no_level():
    answers = {
        "network_build": [],
        "equipment_digitised_rate": 5,
        "equipment_networked_rate": 0,  # 0
        "data_collection": ["finance"],  # 0.7
        "information_systems": "one_area",  # 2.5
        "network_security": [],
        "data_security": [],  # 0
        # foundation = 0.7 + 2.5 = 3.2
        "planning": "none",
        "mechanisms": [],
        "talent": [],
        "digital_spend_share": {"spend": 2, "revenue": 800},  # 0.25% → 0
        # management = 0
        "energy_trend": "up",  # 0
        "pass_rate": 85,  # band 80–90 → 1.75
        "revenue_per_employee": {"current": 30, "previous": 32},  # −6.25% → 0
        "cost_per_100": "up",  # 0
        # results = 1.75
    }
    scenes = {s.key: 0 for s in Q.scenes} | {
        "finance": 1,
        "process_design": "na",
        "after_sales": "na",
    }
    r = engine.score_maturity(Q, RULE, answers, scenes)
    assert r.total == D("4.95")  # 3.2 + 0 + 1.75
    assert r.level == 0  # level 1 needs a base of 20
    assert r.as_dict()["level_label"] == "未达一级"
    assert r.scene_levels["process_design"] is None
    assert r.item_next_steps["information_systems"].startswith("达到")


def test_songshan_lake_electronics_maker_reaches_level_3_not_4():
    every = lambda key: [o.key for o in Q.item(key).options]  # noqa: E731
    answers = {
        "network_build": every("network_build"),  # 4 × 2 = 8
        "equipment_digitised_rate": 75,
        "equipment_networked_rate": 65,  # 6 + 6
        "data_collection": every("data_collection"),  # 13 × 0.7 + 0.9 = 10
        "information_systems": "over_80_percent",  # 7.5
        "network_security": every("network_security"),  # 5
        "data_security": ["policy", "protection_measures", "risk_assessment"],  # 3 × 1.25 = 3.75
        # foundation = 8 + 12 + 10 + 7.5 + 5 + 3.75 = 46.25
        "planning": "implemented_tracked",  # 6
        "mechanisms": every("mechanisms"),  # 7.5
        "talent": every("talent")[:4],  # 4 × 1.5 = 6
        "digital_spend_share": {"spend": 450, "revenue": 15000},  # 3% → band 3–5 → 6
        # management = 6 + 7.5 + 6 + 6 = 25.5
        "energy_trend": "down",
        "pass_rate": 98.5,  # 7 + 7
        "revenue_per_employee": {"current": 110, "previous": 100},  # +10% → 3
        "cost_per_100": "down",  # 3
        # results = 20
    }
    fours = {
        "product_design",
        "planning_scheduling",
        "production_control",
        "quality",
        "warehousing_logistics",
        "finance",
        "collaboration",
    }
    scenes = {s.key: 4 if s.key in fours else 3 for s in Q.scenes}
    r = engine.score_maturity(Q, RULE, answers, scenes)
    assert r.total == D("91.75")  # 46.25 + 25.5 + 20
    # Level 4 needs 10 scenes at level 4 (7 here) and 6 mandatory (产品设计 生产管控 质量 仓储
    # 财务 = 5): not met. Level 3: base 91.75 ≥ 60, 16 ≥ 8 scenes, 10 ≥ 5 mandatory: met.
    assert r.level == 3
    assert r.next_level["scenes_needed"] == 3 and r.next_level["mandatory_scenes_needed"] == 1
    assert r.next_level["base_points_needed"] == 0


def test_not_applicable_scenes_scale_the_scene_thresholds():
    # 6 of 16 scenes not applicable leaves 10 (mandatory 8 of 10): level 2's 6 scenes
    # become ceil(6 × 10 / 16) = 4 and its 3 mandatory ceil(3 × 8 / 10) = 3.
    na = ["process_design", "after_sales", "human_resources", "collaboration", "safety", "energy"]
    scenes = {s.key: 1 for s in Q.scenes} | dict.fromkeys(na, "na")
    scenes |= {"marketing": 2, "quality": 2, "finance": 2, "procurement": 2}
    answers = {
        "information_systems": "all_areas",
        "planning": "strategic_iterating",
        "mechanisms": [o.key for o in Q.item("mechanisms").options],
        "talent": [o.key for o in Q.item("talent").options],
        "network_build": [o.key for o in Q.item("network_build").options],
        "energy_trend": "down",
    }  # 10 + 7.5 + 7.5 + 7.5 + 8 + 7 = 47.5
    r = engine.score_maturity(Q, RULE, answers, scenes)
    assert r.base == D("47.5")
    check = next(c for c in r.level_checks if c["level"] == 2)
    assert check["scenes"] == {"have": 4, "need": 4} and check["mandatory"]["need"] == 3
    assert r.level == 2


def test_a_wrong_answer_names_the_question():
    with pytest.raises(engine.AnswerError) as exc:
        engine.score_maturity(Q, RULE, {"equipment_networked_rate": 130}, {})
    assert exc.value.key == "equipment_networked_rate"
    with pytest.raises(engine.AnswerError) as exc:
        engine.score_maturity(Q, RULE, {"planning": "maybe"}, {})
    assert "unknown option" in exc.value.message
    with pytest.raises(engine.AnswerError):
        engine.score_maturity(Q, RULE, {"digital_spend_share": {"spend": 1, "revenue": 0}}, {})
    with pytest.raises(engine.AnswerError):
        engine.score_maturity(Q, RULE, {}, {"quality": 5})
