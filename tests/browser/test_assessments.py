"""Digital maturity and security self-assessments, walked by the demo enterprise in a browser.

The maturity wizard is filled step by step from the shipped example answers (radios,
checkboxes, numbers, scene levels), with htmx autosave, a reload half-way (resumable), the
130 % validation error and an early submit; the result page's level and ECharts data are
compared with the engine. The wizard and the result at 375 px; a security self-check and its
risk grade and remediation order. Screenshots land in var/screenshots/.
"""

from __future__ import annotations

import json
import re
import warnings
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_roles import assert_no_horizontal_scroll, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ASSESSMENTS_DIR = Path(__file__).resolve().parents[2] / "yunshu" / "assessments"
MATURITY_EXAMPLE = ASSESSMENTS_DIR / "examples" / "maturity-2024-example.json"
MATURITY_RULE = ASSESSMENTS_DIR / "rules" / "maturity-2024-default.json"
SAVED = "已自动保存"
SEVERITY_RANK = {"高": 0, "中": 1, "低": 2}

# Runs before every page's own scripts. Counts the `change` events of the step form and, per
# htmx autosave (hx-trigger="change delay:300ms"), how many of them it carried, so the tests
# can wait until the last change is saved and swapped back in.
TRACK_CHANGES_JS = """
window.__changes = 0; window.__sent = 0; window.__settled = 0; window.__lastChange = -1e9;
document.addEventListener("change", (e) => {
  if (!e.target.closest || !e.target.closest("[data-testid=step-form]")) return;
  window.__changes += 1;
  window.__lastChange = performance.now();
}, true);
document.addEventListener("htmx:beforeRequest", () => { window.__sent = window.__changes; });
document.addEventListener("htmx:afterSettle", () => { window.__settled = window.__sent; });
"""
# No htmx request in flight, and the last change saved (or, should htmx have sent a queued
# save from a form it already swapped out, where no event reaches the document: quiet for a
# good while after the last change).
SETTLED_JS = """
() => !document.querySelector(".htmx-request")
      && (window.__settled === window.__changes || performance.now() - window.__lastChange > 1500)
"""


# -- helpers ----------------------------------------------------------------------------------


def wizard_steps(key: str) -> list[Any]:
    from yunshu.assessments.definitions import engine_questionnaire
    from yunshu.assessments.models import Questionnaire
    from yunshu.assessments.wizard import steps

    return steps(engine_questionnaire(Questionnaire.objects.get(key=key)))


def same_answer(got: Any, want: Any) -> bool:
    """Answers as stored (form posts keep numbers as text) against the example file's."""
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and set(got) == set(want)
            and all(same_answer(got[k], want[k]) for k in want)
        )
    if isinstance(want, list):
        return isinstance(got, list) and sorted(map(str, got)) == sorted(map(str, want))
    try:
        return Decimal(str(got)) == Decimal(str(want))
    except InvalidOperation:
        return str(got) == str(want)


def settle(page: Any) -> None:
    page.wait_for_function(SETTLED_JS)


def form(page: Any) -> Any:
    return page.locator("[data-testid=step-form]")


def choice(page: Any, name: str, value: Any) -> Any:
    return form(page).locator(f'input[name="{name}"][value="{value}"]')


def number_inputs(step: Any, answers: dict[str, Any]) -> list[tuple[str, Any]]:
    """(input name, wanted value) for the number fields of a step."""
    out: list[tuple[str, Any]] = []
    for item in step.items:
        if item.type == "band":
            out.append((f"item-{item.key}", answers[item.key]))
        elif item.type == "computed":
            out += [
                (f"item-{item.key}-{i['key']}", answers[item.key][i["key"]]) for i in item.inputs
            ]
    return out


def choices(
    step: Any, answers: dict[str, Any], scenes: dict[str, Any]
) -> list[tuple[str, str, bool]]:
    """(input name, value, checked?) for the radios and checkboxes of a step."""
    out: list[tuple[str, str, bool]] = []
    for item in step.items:
        if item.type == "single":
            out.append((f"item-{item.key}", str(answers[item.key]), True))
        elif item.type == "multi":
            chosen = {str(k) for k in answers[item.key]}
            out += [(f"item-{item.key}", o.key, o.key in chosen) for o in item.options]
    out += [(f"scene-{s.key}", str(scenes[s.key]), True) for s in step.scenes]
    return out


def step_mismatches(
    page: Any, step: Any, answers: dict[str, Any], scenes: dict[str, Any]
) -> list[str]:
    """What the step form shows differently from the wanted answers."""
    wrong = [
        f"{name}={value} should be {'checked' if want else 'unchecked'}"
        for name, value, want in choices(step, answers, scenes)
        if choice(page, name, value).is_checked() != want
    ]
    for name, want in number_inputs(step, answers):
        shown = form(page).locator(f'input[name="{name}"]').input_value()
        if not same_answer(shown, want):
            wrong.append(f"{name} shows {shown!r}, should be {want}")
    return wrong


def apply_answers(page: Any, step: Any, answers: dict[str, Any], scenes: dict[str, Any]) -> bool:
    """Click, tick and type what differs from the wanted answers, like a person would."""
    changed = False
    for name, value, want in choices(step, answers, scenes):
        box = choice(page, name, value)
        if box.is_checked() != want:
            box.click()
            changed = True
    for name, want in number_inputs(step, answers):
        field = form(page).locator(f'input[name="{name}"]')
        if not same_answer(field.input_value(), want):
            field.fill(str(want))
            field.blur()  # `change` fires when the field is left
            changed = True
    return changed


def fill_step(page: Any, step: Any, answers: dict[str, Any], scenes: dict[str, Any]) -> None:
    """Answer one step through the form and wait for its autosave to come back."""
    for attempt in range(3):
        changed = apply_answers(page, step, answers, scenes)
        settle(page)
        wrong = step_mismatches(page, step, answers, scenes)
        if not wrong:
            if changed:
                expect(page.locator("[data-testid=save-state]")).to_have_text(SAVED)
            return
        # The autosave swaps the whole step form; an input changed while a save was in flight
        # is replaced by the server's older copy. Set it again, but say so.
        warnings.warn(
            f"step {step.key}, attempt {attempt + 1}: autosave undid {wrong}", stacklevel=1
        )
    pytest.fail(f"step {step.key} does not keep its answers: {wrong}")


def start_assessment(page: Any, base_url: str, enterprise_id: int, questionnaire: str) -> int:
    """On /assessments/, pick the questionnaire next to the enterprise and press 开始."""
    response = page.goto(f"{base_url}/assessments/")
    assert response is not None and response.status == 200
    start = page.locator(f"[data-testid=start-{enterprise_id}]")
    row = page.locator("form").filter(has=start)
    row.locator("select[name=questionnaire]").select_option(questionnaire)
    start.click()
    page.wait_for_url(re.compile(r"/assessments/\d+/$"))
    found = re.search(r"/assessments/(\d+)/$", page.url)
    assert found, page.url
    expect(form(page)).to_be_visible()
    return int(found.group(1))


def save_and_next(page: Any, base_url: str, pk: int, next_key: str | None) -> None:
    with page.expect_navigation():
        page.click("[data-testid=save-next]")
    if next_key is not None:
        assert page.url == f"{base_url}/assessments/{pk}/?step={next_key}"
    else:  # the last step saves and shows itself again, with a message
        assert re.search(rf"/assessments/{pk}/\?step=", page.url), page.url
        expect(page.locator(".alert-success")).to_contain_text("已保存")


def open_step(page: Any, base_url: str, pk: int, key: str) -> None:
    link = page.locator(f"[data-testid=steps] a[href$='?step={key}']")
    if link.is_visible():
        link.click()
    else:  # on a phone the steps are a drop-down above the questions
        page.select_option("[data-testid=step-select]", value=f"/assessments/{pk}/?step={key}")
    page.wait_for_url(f"{base_url}/assessments/{pk}/?step={key}")
    expect(form(page)).to_be_visible()


def stored(pk: int) -> Any:
    from yunshu.assessments.models import Assessment

    return Assessment.objects.get(pk=pk)


def wait_for_charts(page: Any, count: int) -> None:
    page.wait_for_function(
        "(n) => Array.isArray(window.yunshuCharts) && window.yunshuCharts.length === n", arg=count
    )


@pytest.fixture
def world(demo_world: Any) -> Any:
    """The demo world with the shipped questionnaires and rules stored (a flush may drop them)."""
    from yunshu.assessments.definitions import questionnaires_load

    questionnaires_load()
    return demo_world


# -- the maturity self-assessment, all of it --------------------------------------------------


def test_enterprise_fills_the_maturity_wizard_and_gets_its_level(
    world: Any, live_server: Any, new_page: Any, screenshot: Any
) -> None:
    from yunshu.assessments import engine
    from yunshu.assessments.definitions import engine_questionnaire
    from yunshu.assessments.models import AssessmentResult, Questionnaire
    from yunshu.assessments.report import result_context

    base = live_server.url
    example = json.loads(MATURITY_EXAMPLE.read_text(encoding="utf-8"))
    answers, scenes = example["answers"], example["scenes"]
    steps = wizard_steps("maturity-2024")
    keys = [s.key for s in steps]
    assert len(steps) == 13

    page = new_page("desktop")
    page.add_init_script(TRACK_CHANGES_JS)
    sign_in(page, base, "enterprise")
    pk = start_assessment(page, base, world.own_enterprise_id, "maturity-2024")
    assert stored(pk).status == "draft" and stored(pk).questionnaire.key == "maturity-2024"
    hrefs = page.locator("[data-testid=steps] a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert hrefs == [f"/assessments/{pk}/?step={k}" for k in keys]

    for index, step in enumerate(steps):
        fill_step(page, step, answers, scenes)
        if index == 0:
            screenshot(page, "enterprise", "desktop", "assessment-wizard")
            check_percent_over_100(page, pk, screenshot)
            fill_step(page, step, answers, scenes)  # back to the example's 18 %
        if index == 8:  # resumable: reload, look at earlier steps, come back
            check_resumes(page, base, pk, steps, index, answers, scenes)
        next_key = keys[index + 1] if index + 1 < len(keys) else None
        save_and_next(page, base, pk, next_key)
        if index == 3:
            check_early_submit_refused(page, base, pk, steps[4:])
            open_step(page, base, pk, keys[4])

    saved = stored(pk)
    assert saved.status == "draft"
    assert set(saved.answers) == set(answers)
    assert [k for k in answers if not same_answer(saved.answers[k], answers[k])] == []
    assert {k: str(v) for k, v in saved.scenes.items()} == {k: str(v) for k, v in scenes.items()}
    expect(page.get_by_test_id("steps-done")).to_have_text(
        f"已完成 {len(steps)} / {len(steps)} 部分"
    )

    page.click("[data-testid=submit-assessment]")
    page.wait_for_url(f"{base}/assessments/{pk}/")
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator("[data-testid=step-form]")).to_have_count(0)  # locked: no more form
    assert stored(pk).status == "submitted"

    # The level: the engine on the example file with the default rule, and the stored result.
    q = engine_questionnaire(Questionnaire.objects.get(key="maturity-2024"))
    rule = engine.load_rule(engine.read_json(MATURITY_RULE), q)
    expected = engine.score_maturity(q, rule, answers, scenes)
    result = AssessmentResult.objects.get(assessment_id=pk, is_current=True)
    assert result.level == expected.level
    assert result.computed["total"] == engine.to_number(expected.total)
    expect(page.locator("[data-testid=level]")).to_have_text(engine.level_label(expected.level))

    # The charts draw exactly the server's numbers.
    context = result_context(stored(pk))
    wait_for_charts(page, 2)
    expect(page.locator("#chart-radar canvas").first).to_be_visible()
    expect(page.locator("#chart-heatmap canvas").first).to_be_visible()
    radar = page.evaluate("() => window.yunshuCharts[0].getOption().series[0].data[0].value")
    percents = [r["percent"] for r in context["dimension_rows"]]
    assert radar == percents
    assert percents == [
        round(100 * float(expected.dimensions[d.key]) / float(d.max_points))
        for d in q.dimensions
        if not d.graded_by_scene
    ]
    heat = page.evaluate("() => window.yunshuCharts[1].getOption().series[0].data.map(d => d[2])")
    levels = [r["level"] for r in context["scene_rows"]]
    assert heat == [-1 if level is None else level for level in levels]
    assert levels == [expected.scene_levels[s.key] for s in q.scenes]
    assert levels.count(None) == list(scenes.values()).count("na") > 0
    screenshot(page, "enterprise", "desktop", "assessment-result")


def check_percent_over_100(page: Any, pk: int, screenshot: Any) -> None:
    """130 in a % field: a clear error under the field, and the saved answer stays."""
    before = stored(pk).answers["equipment_networked_rate"]
    field = form(page).locator('input[name="item-equipment_networked_rate"]')
    field.fill("130")
    field.blur()
    settle(page)
    error = page.locator("[data-testid=error-equipment_networked_rate]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("100")
    expect(page.locator("[data-testid=save-state]")).not_to_have_text(SAVED)
    assert stored(pk).answers["equipment_networked_rate"] == before
    screenshot(page, "enterprise", "desktop", "assessment-error")


def check_early_submit_refused(page: Any, base: str, pk: int, unfilled: list[Any]) -> None:
    """Submitting with questions left: an error that says how many, and still a draft."""
    missing = sum(len(s.items) + len(s.scenes) for s in unfilled)
    page.click("[data-testid=submit-assessment]")
    page.wait_for_url(f"{base}/assessments/{pk}/")
    expect(page.locator(".alert-danger")).to_contain_text(f"还有 {missing} 题未作答")
    expect(form(page)).to_be_visible()
    assert stored(pk).status == "draft"
    assert stored(pk).results.count() == 0


def check_resumes(
    page: Any,
    base: str,
    pk: int,
    steps: list[Any],
    index: int,
    answers: dict[str, Any],
    scenes: dict[str, Any],
) -> None:
    """A reload half-way shows what was saved: the current step and the earlier ones."""
    step = steps[index]
    page.reload()
    assert page.url == f"{base}/assessments/{pk}/?step={step.key}"
    assert step_mismatches(page, step, answers, scenes) == []
    marks = page.locator("[data-testid=steps] a").all_inner_texts()
    assert [m.startswith("✓") for m in marks] == [i <= index for i in range(len(steps))]
    expect(page.get_by_test_id("steps-done")).to_have_text(
        f"已完成 {index + 1} / {len(steps)} 部分"
    )
    for earlier in (steps[0], steps[5]):  # numbers and checkboxes; scene levels
        open_step(page, base, pk, earlier.key)
        assert step_mismatches(page, earlier, answers, scenes) == []
    open_step(page, base, pk, step.key)


# -- the phone -------------------------------------------------------------------------------


def test_wizard_and_result_on_a_phone(
    world: Any, live_server: Any, new_page: Any, screenshot: Any
) -> None:
    from yunshu.accounts.models import User
    from yunshu.assessments import services
    from yunshu.assessments.models import Questionnaire
    from yunshu.enterprises.models import Enterprise

    base = live_server.url
    example = json.loads(MATURITY_EXAMPLE.read_text(encoding="utf-8"))
    answers, scenes = example["answers"], example["scenes"]
    steps = wizard_steps("maturity-2024")

    page = new_page("phone")
    page.add_init_script(TRACK_CHANGES_JS)
    sign_in(page, base, "enterprise")
    pk = start_assessment(page, base, world.own_enterprise_id, "maturity-2024")
    fill_step(page, steps[0], answers, scenes)
    assert_no_horizontal_scroll(page, "maturity wizard, first step")
    screenshot(page, "enterprise", "phone", "assessment-wizard")
    draft = stored(pk)
    for item in steps[0].items:
        assert same_answer(draft.answers[item.key], answers[item.key]), item.key
    save_and_next(page, base, pk, steps[1].key)

    scenes_step = next(s for s in steps if len(s.scenes) > 4)  # long level descriptions
    open_step(page, base, pk, scenes_step.key)
    fill_step(page, scenes_step, answers, scenes)
    assert_no_horizontal_scroll(page, f"maturity wizard, {scenes_step.key}")
    screenshot(page, "enterprise", "phone", "assessment-wizard-scenes")

    # A submitted result (made through the services, as the desktop test covers the UI).
    owner = User.objects.get(username="enterprise")
    done = services.assessment_start(
        enterprise=Enterprise.objects.get(pk=world.own_enterprise_id),
        questionnaire=Questionnaire.objects.get(key="maturity-2024"),
        source="self",
        by=owner,
    )
    services.assessment_save(assessment=done, by=owner, answers=answers, scenes=scenes)
    services.assessment_submit(assessment=done, by=owner)
    page.goto(f"{base}/assessments/{done.pk}/")
    expect(page.locator("[data-testid=level]")).not_to_be_empty()
    wait_for_charts(page, 2)
    for chart in ("#chart-radar", "#chart-heatmap"):
        canvas = page.locator(f"{chart} canvas").first
        expect(canvas).to_be_visible()
        box = canvas.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 376, chart
    assert_no_horizontal_scroll(page, "maturity result")
    screenshot(page, "enterprise", "phone", "assessment-result")


# -- security self-check -------------------------------------------------------------------


def test_security_self_check_grades_risk_and_orders_remediation(
    world: Any, live_server: Any, new_page: Any, screenshot: Any
) -> None:
    from yunshu.assessments import engine
    from yunshu.assessments.definitions import engine_questionnaire
    from yunshu.assessments.models import AssessmentResult, Questionnaire

    base = live_server.url
    steps = wizard_steps("security-2024")
    secure, rest = steps[0], steps[1:]  # one area answered "yes" throughout, the others "no"
    answers = {i.key: "yes" for i in secure.items} | {i.key: "no" for s in rest for i in s.items}

    page = new_page("desktop")
    page.add_init_script(TRACK_CHANGES_JS)
    sign_in(page, base, "enterprise")
    pk = start_assessment(page, base, world.own_enterprise_id, "security-2024")
    fill_step(page, secure, answers, {})  # clicked, autosaved
    save_and_next(page, base, pk, rest[0].key)
    for index, step in enumerate(rest):  # the page's own form, every radio "no" at once
        count = form(page).evaluate(
            """f => { const no = f.querySelectorAll('input[type=radio][value="no"]');
                      no.forEach(r => { r.checked = true; }); return no.length; }"""
        )
        assert count == len(step.items)
        next_key = rest[index + 1].key if index + 1 < len(rest) else None
        save_and_next(page, base, pk, next_key)
    draft = stored(pk)
    assert draft.answers == answers

    page.click("[data-testid=submit-assessment]")
    page.wait_for_url(f"{base}/assessments/{pk}/")
    result = AssessmentResult.objects.get(assessment_id=pk, is_current=True)
    q = engine_questionnaire(Questionnaire.objects.get(key="security-2024"))
    expected = engine.score_security(q, answers)
    assert result.risk_grade == expected.grade == "high"
    expect(page.locator("[data-testid=risk-grade]")).to_have_text(
        engine.RISK_LABELS[result.risk_grade]
    )

    rows = page.locator("[data-testid=remediation] .list-group-item")
    expect(rows).to_have_count(len(result.computed["remediation"]))
    names = rows.locator("strong").all_inner_texts()
    assert names == [r["name_zh"] for r in result.computed["remediation"]]
    assert set(names) == {i.name_zh for s in rest for i in s.items}  # the "yes" area is done
    ranks = [SEVERITY_RANK[t.strip()] for t in rows.locator(".badge").all_inner_texts()]
    assert ranks == sorted(ranks), "remediation is not ordered high → medium → low"
    assert ranks[0] == 0

    wait_for_charts(page, 1)
    radar = page.evaluate("() => window.yunshuCharts[0].getOption().series[0].data[0].value")
    assert radar == [result.computed["areas"][d.key] for d in q.dimensions]
    assert radar[0] == 100 and set(radar[1:]) == {0}
    screenshot(page, "enterprise", "desktop", "security-result")
