"""Charts for the PDF report as SVG text, built in Python (the PDF engine runs no JavaScript).

Pure functions: data in, an ``<svg>`` string out. Every piece of text is XML-escaped, so the
result can be put inline into HTML (mark it safe) or into a ``data:`` URI.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

FONT = "Noto Sans CJK SC, Noto Sans CJK, sans-serif"
TEXT = "#1f2937"
MUTED = "#6b7280"
GRID = "#d1d5db"
ACCENT = "#206bc4"

# Scene levels 0–4: grey for "not yet level 1", then a blue scale.
LEVEL_COLOURS = ("#e5e7eb", "#cfe2ff", "#8fb8f0", "#4a89dc", "#1b4f9c")
LEVEL_NAMES = ("未达一级", "一级", "二级", "三级", "四级")
NOT_APPLICABLE = "—"


def _num(value: float) -> str:
    """A coordinate, short: 12.0 → "12", 12.345 → "12.3"."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text(
    x: float,
    y: float,
    content: str,
    *,
    size: float = 11,
    anchor: str = "start",
    fill: str = TEXT,
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" font-size="{_num(size)}" '
        f'text-anchor="{anchor}" fill="{fill}" font-weight="{weight}">{escape(content)}</text>'
    )


def _ems(text: str) -> float:
    """Roughly how wide a text is, in ems: CJK characters are one, Latin about half."""
    return sum(1.0 if ord(c) >= 0x2E80 else 0.6 for c in text)


def _wrap(label: str, width: float) -> list[str]:
    """Cut a label into lines at most ``width`` ems wide (Chinese by characters, evenly)."""
    if _ems(label) <= width:
        return [label]
    words = label.split()
    if len(words) > 1:
        lines: list[str] = []
        for word in words:
            if lines and _ems(f"{lines[-1]} {word}") <= width:
                lines[-1] += " " + word
            else:
                lines.append(word)
        return lines
    if _ems(label) < len(label):  # one long Latin word: keep it whole
        return [label]
    # Balanced lines: 数据安全与备份 → 数据安全 / 与备份, not 数据安全与备 / 份.
    per = math.ceil(len(label) / math.ceil(len(label) / width))
    return [label[i : i + per] for i in range(0, len(label), per)]


def _svg(box: tuple[float, float, float, float], body: list[str], title: str) -> str:
    """The ``<svg>`` element around ``body``; ``box`` is the viewBox (x, y, width, height)."""
    x, y, width, height = box
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}" '
        f'height="{_num(height)}" viewBox="{_num(x)} {_num(y)} {_num(width)} {_num(height)}" '
        f'font-family={quoteattr(FONT)} role="img">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def radar_svg(
    labels: Sequence[str],
    values: Sequence[float],
    max_value: float = 100,
    *,
    size: int = 240,
    title: str = "得分率",
) -> str:
    """A radar (spider) chart: one axis per label, the values as a filled polygon.

    The polygon is clamped to 0..max_value (the value itself is printed as given); rings are
    drawn at every fifth of max_value. The picture is sized to fit its labels.
    """
    if len(labels) != len(values):
        raise ValueError("radar_svg needs as many values as labels")
    radius = size / 2
    n = len(labels)
    body: list[str] = []
    if n == 0:
        body.append(_text(0, 0, "无数据", anchor="middle", fill=MUTED))
        return _svg((-radius, -radius, size, size), body, title)

    def point(i: int, fraction: float) -> tuple[float, float]:
        """Axis ``i`` at ``fraction`` of the radius; the centre is (0, 0), axis 0 points up."""
        angle = -math.pi / 2 + 2 * math.pi * i / n
        return radius * fraction * math.cos(angle), radius * fraction * math.sin(angle)

    def polygon(fractions: Sequence[float]) -> str:
        return " ".join(
            f"{_num(x)},{_num(y)}" for x, y in (point(i, f) for i, f in enumerate(fractions))
        )

    for ring in range(1, 6):
        fraction = ring / 5
        body.append(
            f'<polygon points="{polygon([fraction] * n)}" fill="none" stroke="{GRID}" '
            f'stroke-width="{1 if ring == 5 else 0.6}"/>'
        )
        x, y = point(0, fraction)
        body.append(_text(x + 3, y + 4, _num(max_value * fraction), size=10, fill=MUTED))
    for i in range(n):
        x, y = point(i, 1)
        body.append(
            f'<line x1="0" y1="0" x2="{_num(x)}" y2="{_num(y)}" stroke="{GRID}" '
            f'stroke-width="0.6"/>'
        )

    top = max_value if max_value > 0 else 1
    fractions = [min(max(float(v), 0.0), top) / top for v in values]
    body.append(
        f'<polygon points="{polygon(fractions)}" fill="{ACCENT}" fill-opacity="0.25" '
        f'stroke="{ACCENT}" stroke-width="2" stroke-linejoin="round"/>'
    )
    for i, fraction in enumerate(fractions):
        x, y = point(i, fraction)
        body.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3.5" fill="{ACCENT}"/>')

    label_size, value_size, line_height = 16, 13, 18
    left, right, upper, lower = -radius, radius, -radius, radius
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x, y = point(i, 1.1)
        anchor = "middle" if abs(x) < 1 else ("start" if x > 0 else "end")
        lines = [*_wrap(str(label), 6), f"{_num(float(value))}%"]
        # Above the chart the block grows upwards, below it downwards, beside it centred.
        if abs(y) < radius * 0.3:
            first = y - (len(lines) - 1) * line_height / 2 + 5
        elif y < 0:
            first = y - (len(lines) - 1) * line_height
        else:
            first = y + 13
        for k, line in enumerate(lines):
            is_value = k == len(lines) - 1
            font_size = value_size if is_value else label_size
            baseline = first + k * line_height
            body.append(
                _text(
                    x,
                    baseline,
                    line,
                    size=font_size,
                    anchor=anchor,
                    fill=ACCENT if is_value else TEXT,
                    weight="bold" if is_value else "normal",
                )
            )
            wide = _ems(line) * font_size
            start = {"start": x, "middle": x - wide / 2, "end": x - wide}[anchor]
            left, right = min(left, start), max(right, start + wide)
            upper, lower = min(upper, baseline - font_size), max(lower, baseline + 0.3 * font_size)
    margin = 6
    box = (left - margin, upper - margin, right - left + 2 * margin, lower - upper + 2 * margin)
    return _svg(box, body, title)


def scene_levels_svg(
    names: Sequence[str],
    levels: Sequence[int | None],
    *,
    mandatory: Sequence[bool] | None = None,
    title: str = "场景等级",
) -> str:
    """A heat grid: one row per scene, columns 一级…四级 filled up to the scene's level.

    The filled cells take the colour of the level reached; the row ends with the level's
    name. ``None`` (not applicable) leaves the row blank and shows "—". ``mandatory``
    marks scenes with a ★. A legend sits under the grid.
    """
    if len(names) != len(levels):
        raise ValueError("scene_levels_svg needs as many levels as names")
    if mandatory is not None and len(mandatory) != len(names):
        raise ValueError("scene_levels_svg needs as many mandatory flags as names")
    name_width, cell, cell_h, gap, label_width = 132, 52, 20, 3, 76
    name_size, head, row_h = 13, 22, cell_h + gap
    width = name_width + 4 * (cell + gap) + label_width
    grid_bottom = head + row_h * len(names)
    height = grid_bottom + 38
    unreached = f'fill="{LEVEL_COLOURS[0]}" fill-opacity="0.6"'
    not_applicable = f'fill="#ffffff" stroke="{GRID}" stroke-dasharray="3 2"'
    body: list[str] = []
    for col in range(1, 5):
        x = name_width + (col - 1) * (cell + gap) + cell / 2
        body.append(_text(x, 14, LEVEL_NAMES[col], size=11, anchor="middle", fill=MUTED))
    for row, (name, level) in enumerate(zip(names, levels, strict=True)):
        y = head + row * row_h
        baseline = y + cell_h / 2 + name_size * 0.36
        star = "★ " if mandatory is not None and mandatory[row] else ""
        name = str(name) if len(str(name)) <= 8 else str(name)[:7] + "…"
        body.append(_text(name_width - 8, baseline, star + name, size=name_size, anchor="end"))
        for col in range(1, 5):
            x = name_width + (col - 1) * (cell + gap)
            if level is None:
                attrs = not_applicable
            elif level >= col:
                attrs = f'fill="{LEVEL_COLOURS[min(level, 4)]}"'
            else:
                attrs = unreached
            body.append(
                f'<rect x="{_num(x)}" y="{_num(y)}" width="{cell}" height="{cell_h}" '
                f'rx="2" {attrs}/>'
            )
        label = NOT_APPLICABLE if level is None else LEVEL_NAMES[max(0, min(level, 4))]
        body.append(
            _text(
                width - label_width + 10,
                baseline,
                label,
                size=name_size,
                fill=MUTED if not level else TEXT,
                weight="bold" if level else "normal",
            )
        )

    legend = [(f'fill="{LEVEL_COLOURS[i]}"', LEVEL_NAMES[i]) for i in range(1, 5)]
    legend += [(unreached, "未达到"), (not_applicable, f"{NOT_APPLICABLE} 不适用")]
    x, y, legend_size = 0.0, grid_bottom + 16, 11
    for attrs, text in legend:
        body.append(f'<rect x="{_num(x)}" y="{_num(y)}" width="14" height="11" rx="2" {attrs}/>')
        body.append(_text(x + 18, y + 10, text, size=legend_size, fill=MUTED))
        x += 18 + _ems(text) * legend_size + 12
    if mandatory is not None and any(mandatory):
        body.append(_text(x, y + 10, "★ 约束性场景", size=legend_size, fill=MUTED))
    return _svg((0, 0, width, height), body, title)
