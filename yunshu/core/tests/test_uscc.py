"""Unified Social Credit Code (GB 32100-2015) normalisation and validation.

No database. Assertions on message text need Django settings (the messages are lazy
translations); with ``-p no:django`` those tests are skipped, everything else still runs.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import translation
from hypothesis import example, given
from hypothesis import strategies as st

from yunshu.core import uscc

# Published codes of real, well-known companies (from their business licences as shown in public
# registries and filings). Each passes the GB 32100 check character and, independently, the
# GB 11714 check of the embedded organisation code, which a mistyped or invented code would
# only do by chance (about 1 in 31 × 11 = 341).
REAL_CODES: dict[str, str] = {
    "9144030071526726XG": "腾讯科技（深圳）有限公司",
    "91440300708461136T": "深圳市腾讯计算机系统有限公司",
    "914403001922038216": "华为技术有限公司",
    "91440300192317458F": "比亚迪股份有限公司",
    "91110000802100433B": "北京百度网讯科技有限公司",
    "91110108551385082Q": "小米科技有限责任公司",
    "9144030010001686XA": "招商银行股份有限公司",
    "91440300192181490G": "万科企业股份有限公司",
    "9144030027939873X7": "中兴通讯股份有限公司",
    # Dongguan (area 441900): the listed copper-clad laminate maker, 600183.SH.
    "91441900618163186Q": "广东生益科技股份有限公司",
}
DONGGUAN_CODES = [code for code in REAL_CODES if code[2:8] == uscc.DONGGUAN_AREA]
TENCENT = "9144030071526726XG"

codes_17 = st.text(alphabet=uscc.CHARSET, min_size=17, max_size=17)


def text_of(message: object) -> str:
    """Render a lazy message in Chinese, or skip when Django settings are not available."""
    if not settings.configured:
        pytest.skip("rendering a translated message needs Django settings")
    with translation.override("zh-hans"):
        return str(message)


def issue_codes(issues: tuple[uscc.UsccIssue, ...]) -> list[str]:
    return [issue.code for issue in issues]


# --- constants -------------------------------------------------------------------------------


def test_charset_has_31_characters_without_i_o_s_v_z() -> None:
    assert len(uscc.CHARSET) == 31
    assert len(set(uscc.CHARSET)) == 31
    assert not set("IOSVZ") & set(uscc.CHARSET)


def test_weights_are_powers_of_three_mod_31() -> None:
    assert uscc.WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert tuple(pow(3, i, 31) for i in range(17)) == uscc.WEIGHTS


def test_org_weights_are_descending_powers_of_two_mod_11() -> None:
    assert uscc.ORG_WEIGHTS == (3, 7, 9, 10, 5, 8, 4, 2)
    assert tuple(pow(2, 8 - i, 11) for i in range(8)) == uscc.ORG_WEIGHTS


# --- real codes ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", list(REAL_CODES), ids=list(REAL_CODES.values()))
def test_published_code_of_real_company_is_valid_with_no_org_code_warning(code: str) -> None:
    result = uscc.validate(code, home_area=None)

    assert result.ok
    assert result.code == code
    assert result.errors == ()
    assert result.warnings == ()
    assert uscc.is_valid(code)


def test_at_least_one_real_dongguan_code_is_valid_without_any_warning() -> None:
    assert DONGGUAN_CODES
    for code in DONGGUAN_CODES:
        result = uscc.validate(code)
        assert result.ok
        assert result.warnings == ()


def test_tencent_check_character_matches_hand_computation() -> None:
    # 9 1 4 4 0 3 0 0 7 1 5 2 6 7 2 6 X(=29), times the weights, worked out by hand:
    products = [9, 3, 36, 108, 0, 78, 0, 0, 140, 29, 125, 26, 48, 168, 20, 180, 812]
    assert sum(products) == 1782
    assert 1782 % 31 == 15
    assert uscc.CHARSET[31 - 15] == "G"
    assert uscc.check_character(TENCENT[:17]) == "G"
    # Organisation code 71526726-X: 21+7+45+20+30+56+8+12 = 199; 199 mod 11 = 1; 11-1 = 10 -> X.
    assert 21 + 7 + 45 + 20 + 30 + 56 + 8 + 12 == 199
    assert uscc.org_code_check_character(TENCENT[8:16]) == "X"


# --- normalisation ---------------------------------------------------------------------------


def test_full_width_lower_case_code_with_spaces_is_normalised_and_valid() -> None:
    typed = "９１４４ ０３００ ７１５２ ６７２６ ｘｇ"
    result = uscc.validate(typed, home_area=None)
    assert result.code == TENCENT
    assert result.ok


def test_ideographic_and_no_break_spaces_hyphens_and_zero_width_spaces_are_removed() -> None:
    typed = "\u00a091440300-7152\u30006726\u200bXG\t\n－"
    assert uscc.normalise(typed) == TENCENT
    assert uscc.is_valid(typed)


def test_lower_case_code_is_upper_cased() -> None:
    assert uscc.normalise("9144030071526726xg") == TENCENT


@given(st.text())
@example("e \u0301")  # removing the space lets NFKC compose e + acute on the next round
@example("ﬀ ｓ　")
def test_normalise_is_idempotent(raw: str) -> None:
    once = uscc.normalise(raw)
    assert uscc.normalise(once) == once


# --- errors ----------------------------------------------------------------------------------


def test_seventeen_characters_is_a_length_error_naming_the_actual_length() -> None:
    result = uscc.validate(TENCENT[:17])
    assert not result.ok
    assert issue_codes(result.errors) == ["length"]
    assert result.warnings == ()
    assert "实际为 17 位" in text_of(result.errors[0].message)


def test_empty_input_is_a_length_error_of_zero() -> None:
    result = uscc.validate("  ")
    assert issue_codes(result.errors) == ["length"]
    assert "实际为 0 位" in text_of(result.errors[0].message)


def test_letter_i_is_a_charset_error_naming_the_character_and_position() -> None:
    result = uscc.validate("9I4403007152672 6XG")
    assert issue_codes(result.errors) == ["charset"]
    message = text_of(result.errors[0].message)
    assert "第 2 位“I”" in message
    assert "I、O、S、V、Z" in message


def test_every_bad_character_is_named_with_its_position() -> None:
    result = uscc.validate("91440300715267O6X!")
    assert issue_codes(result.errors) == ["charset"]
    message = text_of(result.errors[0].message)
    assert "第 15 位“O”" in message
    assert "第 18 位“!”" in message


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_each_excluded_letter_is_rejected(letter: str) -> None:
    code = TENCENT[:10] + letter + TENCENT[11:]
    assert issue_codes(uscc.validate(code).errors) == ["charset"]


def test_wrong_length_and_bad_characters_are_both_reported() -> None:
    result = uscc.validate("91O")
    assert issue_codes(result.errors) == ["length", "charset"]


def test_wrong_check_character_says_expected_and_found() -> None:
    result = uscc.validate(TENCENT[:17] + "A")
    assert issue_codes(result.errors) == ["check_char"]
    message = text_of(result.errors[0].message)
    assert "应为“G”" in message
    assert "实际为“A”" in message


# --- warnings --------------------------------------------------------------------------------


def test_failed_organisation_code_check_is_only_a_warning() -> None:
    # Organisation code 12345678: 3+14+27+40+25+48+28+16 = 201; 201 mod 11 = 3; check 11-3 = 8.
    code = uscc.make("91441900" + "12345678" + "0")
    result = uscc.validate(code)
    assert result.ok
    assert issue_codes(result.warnings) == ["org_check"]
    message = text_of(result.warnings[0].message)
    assert "应为“8”" in message
    assert "实际为“0”" in message


def test_organisation_check_value_ten_is_x_and_eleven_is_zero() -> None:
    assert uscc.org_code_check_character("71526726") == "X"  # Σ = 199 ≡ 1, 11 − 1 = 10
    assert uscc.org_code_check_character("00000000") == "0"  # Σ = 0, 11 − 0 = 11
    assert uscc.org_code_check_character("00000001") == "9"  # Σ = 2, 11 − 2 = 9
    assert uscc.org_code_check_character("0000000A") == "2"  # A = 10: Σ = 20 ≡ 9, 11 − 9 = 2


def test_code_from_outside_dongguan_gets_an_area_warning_naming_both_areas() -> None:
    result = uscc.validate(TENCENT)
    assert result.ok
    assert issue_codes(result.warnings) == ["area_outside"]
    message = text_of(result.warnings[0].message)
    assert "440300" in message
    assert "441900" in message


def test_no_area_warning_without_home_area_or_when_it_matches() -> None:
    assert uscc.validate(TENCENT, home_area=None).warnings == ()
    assert uscc.validate(TENCENT, home_area="440300").warnings == ()


def test_warnings_are_skipped_when_length_or_characters_are_wrong() -> None:
    assert uscc.validate("91440300").warnings == ()
    assert uscc.validate("9144030071526726OG").warnings == ()


def test_warnings_still_come_with_a_wrong_check_character() -> None:
    result = uscc.validate(TENCENT[:17] + "A")
    assert issue_codes(result.errors) == ["check_char"]
    assert issue_codes(result.warnings) == ["area_outside"]


# --- helpers ---------------------------------------------------------------------------------


def test_make_appends_the_check_character() -> None:
    assert uscc.make(TENCENT[:17]) == TENCENT


@pytest.mark.parametrize(
    "bad", ["", TENCENT, TENCENT[:16], "9I44030071526726X", "914403007152672 6"]
)
def test_check_character_rejects_input_that_is_not_17_charset_characters(bad: str) -> None:
    with pytest.raises(ValueError):
        uscc.check_character(bad)
    with pytest.raises(ValueError):
        uscc.make(bad)


@pytest.mark.parametrize("bad", ["", "1234567", "123456789", "1234567a", "1234567-"])
def test_org_code_check_character_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError):
        uscc.org_code_check_character(bad)


def test_is_valid_ignores_warnings_and_rejects_errors() -> None:
    assert uscc.is_valid(TENCENT)
    assert not uscc.is_valid(TENCENT[:17] + "A")
    assert not uscc.is_valid("")


# --- properties ------------------------------------------------------------------------------


@given(codes_17)
def test_make_always_gives_a_code_without_errors(prefix: str) -> None:
    code = uscc.make(prefix)
    assert len(code) == 18
    result = uscc.validate(code, home_area=None)
    assert result.ok
    assert result.code == code
    assert issue_codes(result.warnings) in ([], ["org_check"])


def test_check_character_catches_every_single_substitution_by_arithmetic() -> None:
    # Changing position i (1-17) from value a to b shifts the sum by w_i·(b − a). With 31 prime,
    # w_i ≠ 0 and 0 < |b − a| < 31, that shift is never ≡ 0 (mod 31), so the expected check
    # character always changes; a change at position 18 is a mismatch by definition.
    for weight in uscc.WEIGHTS:
        for delta in range(1, 31):
            assert weight * delta % 31 != 0


def test_every_single_substitution_of_a_real_code_is_invalid() -> None:
    for position in range(18):
        for replacement in uscc.CHARSET:
            if replacement == TENCENT[position]:
                continue
            changed = TENCENT[:position] + replacement + TENCENT[position + 1 :]
            assert issue_codes(uscc.validate(changed).errors) == ["check_char"], changed


@given(codes_17, st.integers(min_value=0, max_value=17), st.sampled_from(uscc.CHARSET))
def test_changing_any_single_character_of_a_valid_code_makes_it_invalid(
    prefix: str, position: int, replacement: str
) -> None:
    code = uscc.make(prefix)
    if code[position] == replacement:
        replacement = uscc.CHARSET[(uscc.CHARSET.index(replacement) + 1) % 31]
    changed = code[:position] + replacement + code[position + 1 :]
    result = uscc.validate(changed, home_area=None)
    assert not result.ok
    assert issue_codes(result.errors) == ["check_char"]
