"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015): normalise and validate.

Layout of the 18 characters (positions are 1-based, as in the standard):

- 1: registration authority (登记管理部门)
- 2: organisation type (机构类别)
- 3–8: area code of the registering authority (GB/T 2260; Dongguan is 441900)
- 9–17: subject identifier, i.e. the organisation code of GB 11714 (8 characters + its own check)
- 18: check character

The check character uses the 31-character set below (values 0–30) and the weights
3^(i-1) mod 31 for positions 1–17; c = 31 − (Σ value × weight mod 31), with 31 written as 0.
Because 31 is prime and every weight is non-zero mod 31, any single-character substitution in
positions 1–17 changes the expected check character, so it is always detected.

The embedded organisation code (GB 11714) has its own mod-11 check. Older registrations do not
always pass it, so a failure there is only a warning.

Messages are lazy translations whose placeholders are filled in when the message is rendered,
so they follow the language that is active at display time.
"""

from __future__ import annotations

import operator
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise, StrPromise

__all__ = [
    "CHARSET",
    "DONGGUAN_AREA",
    "LENGTH",
    "ORG_WEIGHTS",
    "WEIGHTS",
    "UsccIssue",
    "UsccResult",
    "check_character",
    "is_valid",
    "make",
    "normalise",
    "org_code_check_character",
    "validate",
]

LENGTH: Final = 18
DONGGUAN_AREA: Final = "441900"

#: The 31 characters of GB 32100, in value order (0–30). I, O, S, V and Z never occur.
CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Weights for positions 1–17 (3^(i-1) mod 31).
WEIGHTS: Final[tuple[int, ...]] = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: GB 11714 weights for the first 8 characters of the organisation code (positions 9–16).
ORG_WEIGHTS: Final[tuple[int, ...]] = (3, 7, 9, 10, 5, 8, 4, 2)

_VALUES: Final[dict[str, int]] = {char: value for value, char in enumerate(CHARSET)}
# Hyphens and dashes people type between groups; NFKC already folds full-width "－" to "-".
_DASHES: Final = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
# Invisible characters that str.isspace() does not cover but that copy-and-paste brings along.
_INVISIBLE: Final = frozenset("\u200b\u200c\u200d\u2060\ufeff")
_MAX_NORMALISE_ROUNDS: Final = 8


@dataclass(frozen=True)
class UsccIssue:
    """One problem with a code: a stable ``code`` for logic, a ``message`` for people."""

    code: str
    message: StrOrPromise


@dataclass(frozen=True)
class UsccResult:
    """The outcome of :func:`validate`. ``code`` is the normalised input."""

    code: str
    errors: tuple[UsccIssue, ...]
    warnings: tuple[UsccIssue, ...]

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings do not make a code invalid)."""
        return not self.errors


def _lazy_message(render: Callable[[], str]) -> StrPromise:
    """A lazy string that calls ``render`` each time it is turned into text."""
    return cast("StrPromise", lazy(render, str)())


def _interpolate(template: StrOrPromise, params: Mapping[str, object]) -> StrPromise:
    """``template % params``, evaluated lazily so the active language at render time applies."""
    return _lazy_message(lambda: str(template) % params)


_CANONICAL = frozenset(CHARSET)


def _normalise_once(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(
        char
        for char in folded
        if not char.isspace() and char not in _DASHES and char not in _INVISIBLE
    )


def normalise(raw: str) -> str:
    """Fold what people type into the canonical form.

    NFKC turns full-width letters, digits and spaces into their ASCII forms; then the text is
    upper-cased and every whitespace, invisible and hyphen/dash character is removed. Removing a
    space can let NFKC compose the characters either side of it, so the steps repeat until the
    text stops changing; that makes ``normalise`` idempotent.
    """
    # Fast path for what a clean spreadsheet holds (most rows of a 200,000-row import).
    if len(raw) == LENGTH and raw.isascii() and _CANONICAL.issuperset(raw):
        return raw
    text = raw
    for _round in range(_MAX_NORMALISE_ROUNDS):
        folded = _normalise_once(text)
        if folded == text:
            break
        text = folded
    return text


def _values(chars: str, *, expected_length: int, what: str) -> list[int]:
    if len(chars) != expected_length:
        raise ValueError(f"{what} needs {expected_length} characters, got {len(chars)}")
    try:
        return [_VALUES[char] for char in chars]
    except KeyError as exc:
        raise ValueError(f"{what} has a character outside the GB 32100 set: {exc}") from None


def check_character(first17: str) -> str:
    """The GB 32100 check character for 17 characters from :data:`CHARSET`."""
    values = _values(first17, expected_length=LENGTH - 1, what="check_character()")
    remainder = sum(value * weight for value, weight in zip(values, WEIGHTS, strict=True)) % 31
    return CHARSET[(31 - remainder) % 31]


_ORG_VALUES: Final[dict[str, int]] = {
    **{str(d): d for d in range(10)},
    **{chr(ord("A") + i): 10 + i for i in range(26)},
}


# 11 − (Σ mod 11) as a character: 10 is X and 11 is 0.
_ORG_CHECK: Final[dict[int, str]] = {**{n: str(n) for n in range(1, 10)}, 10: "X", 11: "0"}


def _org_value(char: str) -> int:
    value = _ORG_VALUES.get(char)
    if value is not None:
        return value
    if char.isascii() and char.isdigit():
        return int(char)
    if char.isascii() and char.isupper():
        return ord(char) - ord("A") + 10
    raise ValueError(f"organisation code character {char!r} is not a digit or A–Z")


def org_code_check_character(first8: str) -> str:
    """The GB 11714 check character for the first 8 characters of an organisation code."""
    if len(first8) != len(ORG_WEIGHTS):
        raise ValueError(f"org_code_check_character() needs 8 characters, got {len(first8)}")
    total = sum(_org_value(char) * weight for char, weight in zip(first8, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def _describe_bad_characters(bad: list[tuple[int, str]]) -> StrPromise:
    def render() -> str:
        items = [
            str(_("第 %(position)d 位“%(char)s”") % {"position": position, "char": shown})
            for position, shown in bad
        ]
        return str(_("、")).join(items)

    return _lazy_message(render)


def _shown(char: str) -> str:
    return char if char.isprintable() else f"U+{ord(char):04X}"


def validate(raw: str, *, home_area: str | None = DONGGUAN_AREA) -> UsccResult:
    """Normalise ``raw`` and check it against GB 32100.

    Errors (the code is invalid): ``length``, ``charset``, ``check_char``.
    Warnings (checked only when length and characters are right): ``org_check`` when the
    embedded GB 11714 organisation code fails its own check, and ``area_outside`` when
    ``home_area`` is given and positions 3–8 differ from it.
    """
    code = normalise(raw)
    if len(code) == LENGTH and _CANONICAL.issuperset(code):
        # The common case of a large import, with the checks below done on plain values.
        total = sum(map(operator.mul, map(_VALUES.__getitem__, code[:17]), WEIGHTS))
        org = code[8:16]
        if code[17] == CHARSET[(31 - total % 31) % 31] and org.isalnum() and org.isascii():
            org_total = sum(map(operator.mul, map(_ORG_VALUES.__getitem__, org), ORG_WEIGHTS))
            org_ok = code[16] == _ORG_CHECK[11 - org_total % 11]
            if org_ok and (home_area is None or code[2:8] == home_area):
                return UsccResult(code=code, errors=(), warnings=())
    errors: list[UsccIssue] = []
    warnings: list[UsccIssue] = []

    if len(code) != LENGTH:
        errors.append(
            UsccIssue("length", _interpolate(_("应为 18 位，实际为 %(n)d 位"), {"n": len(code)}))
        )

    bad = [(index + 1, _shown(char)) for index, char in enumerate(code) if char not in _VALUES]
    if bad:
        template = _(
            "含有代码字符集以外的字符：%(details)s。统一社会信用代码只用数字和大写字母，"
            "且不使用 I、O、S、V、Z"
        )
        details = _describe_bad_characters(bad)
        errors.append(UsccIssue("charset", _interpolate(template, {"details": details})))

    if errors:
        return UsccResult(code=code, errors=tuple(errors), warnings=())

    expected = check_character(code[:17])
    if code[17] != expected:
        errors.append(
            UsccIssue(
                "check_char",
                _interpolate(
                    _("第 18 位校验码应为“%(expected)s”，实际为“%(found)s”，请核对是否输错"),
                    {"expected": expected, "found": code[17]},
                ),
            )
        )

    org_expected = org_code_check_character(code[8:16])
    if code[16] != org_expected:
        warnings.append(
            UsccIssue(
                "org_check",
                _interpolate(
                    _(
                        "第 9–17 位的组织机构代码未通过 GB 11714 校验（第 17 位应为“%(expected)s”，"
                        "实际为“%(found)s”）；部分早期登记的代码如此，请核对"
                    ),
                    {"expected": org_expected, "found": code[16]},
                ),
            )
        )

    area = code[2:8]
    if home_area is not None and area != home_area:
        warnings.append(
            UsccIssue(
                "area_outside",
                _interpolate(
                    _("登记机关行政区划码（第 3–8 位）为 %(area)s，不是本地的 %(home)s"),
                    {"area": area, "home": home_area},
                ),
            )
        )

    return UsccResult(code=code, errors=tuple(errors), warnings=tuple(warnings))


def make(prefix17: str) -> str:
    """The full 18-character code for 17 characters from :data:`CHARSET` (demo data)."""
    return prefix17 + check_character(prefix17)


def is_valid(raw: str) -> bool:
    """True when ``raw`` normalises to a code without errors (warnings are ignored)."""
    return validate(raw, home_area=None).ok
