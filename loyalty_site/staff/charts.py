"""Small server-rendered SVG charts: no script, no library, readable without colour (every
bar has a title and the figures are in the table beside it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#3d3dd6", "#1f9d6b", "#d98a1c", "#c23b4b", "#6b7486", "#8a5cc7"]
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int | Decimal]
    colour: str


def _html(template: str, *args) -> SafeString:
    """``format_html`` with floats written to one decimal (it escapes arguments to text first,
    so it cannot apply a float format itself)."""
    return format_html(
        template.replace("{:.1f}", "{}"), *(f"{a:.1f}" if isinstance(a, float) else a for a in args)
    )


def _nice_ceiling(value: float) -> float:
    """The axis top: 1, 2, 2.5 or 5 times a power of ten, at least ``value``."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _legend(series: Sequence[Series], x: int, y: int) -> SafeString:
    items = []
    offset = x
    for item in series:
        items.append(
            _html(
                '<rect x="{}" y="{}" width="10" height="10" rx="2" fill="{}"/>'
                '<text x="{}" y="{}" {}>{}</text>',
                offset,
                y,
                item.colour,
                offset + 14,
                y + 9,
                mark_safe(FONT),
                item.name,
            )
        )
        offset += 14 + int(6.2 * len(item.name)) + 16
    return mark_safe("".join(items))


def grouped_bars(
    *, labels: Sequence[str], series: Sequence[Series], title: str, width: int = 720, height: int = 260
) -> SafeString:
    """Bars side by side per label (a month, say), one per series, from a zero baseline."""
    left, right, top, bottom = 56, 12, 30, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((float(v) for s in series for v in s.values), default=0)
    ceiling = _nice_ceiling(peak)
    parts: list[str] = [_legend(series, left, 6)]
    for i in range(5):
        value = ceiling * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            _html(
                '<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="#e2e5ee"/>'
                '<text x="{}" y="{:.1f}" text-anchor="end" {}>{}</text>',
                left,
                width - right,
                y,
                y,
                left - 6,
                y + 4,
                mark_safe(FONT),
                _number(value),
            )
        )
    group_w = plot_w / max(len(labels), 1)
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1)
    for index, label in enumerate(labels):
        x0 = left + group_w * index + group_w * 0.1
        for s_index, item in enumerate(series):
            value = float(item.values[index])
            bar_h = plot_h * value / ceiling
            parts.append(
                _html(
                    '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}">'
                    "<title>{}: {} {}</title></rect>",
                    x0 + bar_w * s_index,
                    top + plot_h - bar_h,
                    bar_w,
                    bar_h,
                    item.colour,
                    label,
                    _number(value),
                    item.name.lower(),
                )
            )
        parts.append(
            _html(
                '<text x="{:.1f}" y="{}" text-anchor="middle" {}>{}</text>',
                left + group_w * index + group_w / 2,
                height - 10,
                mark_safe(FONT),
                label,
            )
        )
    return _svg(width, height, title, parts)


def diverging_bars(
    *, labels: Sequence[str], up: Series, down: Series, title: str, width: int = 720, height: int = 220
) -> SafeString:
    """``up`` above a middle axis, ``down`` below it, per label."""
    left, right, top, bottom = 56, 12, 30, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((float(v) for v in [*up.values, *down.values]), default=0)
    ceiling = _nice_ceiling(peak)
    middle = top + plot_h / 2
    parts: list[str] = [_legend([up, down], left, 6)]
    for value, y in ((ceiling, top), (0, middle), (ceiling, top + plot_h)):
        parts.append(
            _html(
                '<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="{}"/>'
                '<text x="{}" y="{:.1f}" text-anchor="end" {}>{}</text>',
                left,
                width - right,
                y,
                y,
                "#9aa1b1" if value == 0 else "#e2e5ee",
                left - 6,
                y + 4,
                mark_safe(FONT),
                _number(value),
            )
        )
    group_w = plot_w / max(len(labels), 1)
    bar_w = group_w * 0.6
    for index, label in enumerate(labels):
        x = left + group_w * index + group_w * 0.2
        up_h = plot_h / 2 * float(up.values[index]) / ceiling
        down_h = plot_h / 2 * float(down.values[index]) / ceiling
        up_value, down_value = float(up.values[index]), float(down.values[index])
        up_tip = f"{label}: {_number(up_value)} {up.name.lower()}"
        parts.append(_bar(x, middle - up_h, bar_w, up_h, up.colour, up_tip))
        parts.append(
            _bar(x, middle, bar_w, down_h, down.colour, f"{label}: {_number(down_value)} {down.name.lower()}")
        )
        parts.append(_text(x + bar_w / 2, height - 10, label, anchor="middle"))
    return _svg(width, height, title, parts)


def horizontal_bars(
    *, labels: Sequence[str], values: Sequence[int | Decimal], title: str, width: int = 460, unit: str = ""
) -> SafeString:
    """One bar per label, longest scale to the widest value."""
    row_h, left, right, top = 28, 110, 70, 8
    height = top * 2 + row_h * max(len(labels), 1)
    plot_w = width - left - right
    peak = max((float(v) for v in values), default=0) or 1
    parts = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + row_h * index
        bar_w = plot_w * float(value) / peak
        colour = PALETTE[index % len(PALETTE)]
        parts.append(_text(left - 8, y + 17, label, anchor="end"))
        parts.append(_bar(left, y + 5, bar_w, row_h - 10, colour, f"{label}: {_number(float(value))}{unit}"))
        parts.append(_text(left + bar_w + 6, y + 17, f"{_number(float(value))}{unit}"))
    return _svg(width, height, title, parts)


def _bar(x: float, y: float, width: float, height: float, colour: str, tooltip: str) -> SafeString:
    return _html(
        '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" rx="2" fill="{}">'
        "<title>{}</title></rect>",
        x,
        y,
        width,
        height,
        colour,
        tooltip,
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start") -> SafeString:
    return _html(
        '<text x="{:.1f}" y="{:.1f}" text-anchor="{}" {}>{}</text>', x, y, anchor, mark_safe(FONT), text
    )


def _svg(width: int, height: int, title: str, parts: Sequence[str]) -> SafeString:
    return _html(
        '<svg class="chart" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title>{}</svg>',
        width,
        height,
        title,
        title,
        format_html_join("", "{}", ((part,) for part in parts)),
    )
