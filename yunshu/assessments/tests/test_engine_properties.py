"""Property tests of the scoring engine on the shipped questionnaires."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from yunshu.assessments import engine
from yunshu.assessments.definitions import QUESTIONNAIRE_DIR, RULE_DIR

MATURITY = engine.load_questionnaire(engine.read_json(QUESTIONNAIRE_DIR / "maturity-2024.json"))
RULE = engine.load_rule(engine.read_json(RULE_DIR / "maturity-2024-default.json"), MATURITY)
SECURITY = engine.load_questionnaire(engine.read_json(QUESTIONNAIRE_DIR / "security-2024.json"))


def item_answer(item: engine.Item) -> st.SearchStrategy:
    if item.type == "single":
        return st.sampled_from([o.key for o in item.options])
    if item.type == "multi":
        return st.lists(st.sampled_from([o.key for o in item.options]), unique=True)
    if item.type == "band":
        top = Decimal(100) if item.unit == "%" else Decimal(150)
        return st.decimals(min_value=item.bands[0].min, max_value=top, places=2)
    names = [str(i["key"]) for i in item.inputs]
    return st.fixed_dictionaries(
        {
            names[0]: st.decimals(min_value=0, max_value=Decimal(10**6), places=2).map(str),
            names[1]: st.decimals(
                min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2
            ).map(str),
        }
    )


answers_strategy = st.fixed_dictionaries({i.key: item_answer(i) for i in MATURITY.items})
scenes_strategy = st.fixed_dictionaries(
    {
        s.key: st.one_of(st.integers(min_value=0, max_value=4), st.just("na"))
        for s in MATURITY.scenes
    }
)


@settings(max_examples=200, deadline=None)
@given(answers_strategy, scenes_strategy)
def test_points_stay_within_bounds_and_dimensions_add_up_to_the_total(answers, scenes):
    result = engine.score_maturity(MATURITY, RULE, answers, scenes)
    for item in MATURITY.items:
        assert 0 <= result.items[item.key] <= item.max_points
    for d in MATURITY.dimensions:
        if not d.graded_by_scene:
            assert 0 <= result.dimensions[d.key] <= d.max_points
    assert sum(result.dimensions.values()) == result.total
    assert 0 <= result.total <= 100
    assert result.level in (0, 1, 2, 3, 4)


def _better(item: engine.Item, answer, data):
    """An answer that has at least the capabilities of the given one."""
    if item.type == "multi":
        extra = data.draw(st.sampled_from([o.key for o in item.options]))
        return sorted(set(answer) | {extra})
    if item.type == "band":
        top = Decimal(100) if item.unit == "%" else answer + 50
        return min(top, answer + data.draw(st.decimals(min_value=0, max_value=50, places=2)))
    if item.type == "single":
        current = item.option(answer).points
        return data.draw(st.sampled_from([o.key for o in item.options if o.points >= current]))
    return answer  # computed inputs have no direction that is always "more capable"


@settings(max_examples=200, deadline=None)
@given(answers_strategy, scenes_strategy, st.data())
def test_adding_a_capability_never_lowers_the_score_or_the_level(answers, scenes, data):
    before = engine.score_maturity(MATURITY, RULE, answers, scenes)
    item = data.draw(st.sampled_from(MATURITY.items))
    improved = dict(answers)
    improved[item.key] = _better(item, answers[item.key], data)
    scene = data.draw(st.sampled_from(MATURITY.scenes))
    raised = dict(scenes)
    if scenes[scene.key] != "na":
        raised[scene.key] = min(4, int(scenes[scene.key]) + data.draw(st.integers(0, 2)))
    after = engine.score_maturity(MATURITY, RULE, improved, raised)
    assert after.total >= before.total
    assert after.level >= before.level


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_security_score_is_a_percentage_and_a_yes_never_raises_the_risk(data):
    answers = {
        i.key: data.draw(st.sampled_from([o.key for o in i.options])) for i in SECURITY.items
    }
    before = engine.score_security(SECURITY, answers)
    assert 0 <= before.score <= 100
    item = data.draw(st.sampled_from(SECURITY.items))
    yes = next(o.key for o in item.options if o.points == item.max_points)
    after = engine.score_security(SECURITY, {**answers, item.key: yes})
    order = {"high": 0, "medium": 1, "low": 2}
    assert order[after.grade] >= order[before.grade]
    if answers[item.key] not in [o.key for o in item.options if o.na]:
        assert after.score >= before.score
