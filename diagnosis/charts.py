"""Charts drawn on the server as inline SVG: no script, no CDN, nothing for the Content
Security Policy to block, and they print. Every text that goes into the SVG is escaped.
The templates put a data table (or caption) beside each chart as its text alternative."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from diagnosis.dashboard import Month

WIDTH = 960
HEIGHT = 250
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 44

COLOURS = {
    "recurrences": "#3b4cca",
    "band_aid": "#f79009",
    "structural": "#12b76a",
    "rate": "#3b4cca",
    "share": "#f79009",
    "grid": "#e2e5ee",
    "axis": "#98a2b3",
    "label": "#5b6178",
}


def month_label(month: date, *, with_year: bool) -> str:
    return month.strftime("%b %Y") if with_year else month.strftime("%b")


def _nice_max(value: float) -> tuple[float, float]:
    """A round top for the axis and its tick step (about four ticks)."""
    if value <= 0:
        return 4.0, 1.0
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if value <= 4 and step < 1:
        step = 1.0
    return step * math.ceil(value / step), step


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(chart_id: str, title: str, description: str, body: list[str]) -> SafeString:
    head = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 (every text is escaped)


def _axes(top_value: float, step: float, *, percent: bool = False) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    ticks = round(top_value / step)
    for i in range(ticks + 1):
        value = i * step
        y = TOP + plot_h - plot_h * value / top_value
        label = f"{_fmt(value)}%" if percent else _fmt(value)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{COLOURS["grid"]}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{COLOURS["label"]}">{escape(label)}</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        f'stroke="{COLOURS["axis"]}" stroke-width="1"/>'
    )
    return parts


def _month_labels(months: Sequence[date], centres: Sequence[float]) -> list[str]:
    every = max(1, math.ceil(len(months) / 12))
    y = HEIGHT - BOTTOM + 16
    parts = []
    for i, (month, x) in enumerate(zip(months, centres, strict=True)):
        if i % every:
            continue
        with_year = i == 0 or month.month == 1
        parts.append(
            f'<text x="{x:.1f}" y="{y}" text-anchor="middle" font-size="11" '
            f'fill="{COLOURS["label"]}">{escape(month_label(month, with_year=with_year))}</text>'
        )
    return parts


def trend_chart(months: Sequence[Month], *, chart_id: str = "trend") -> SafeString:
    """Per month: recurrences (one bar) and fixes (a second bar, band-aid stacked on
    structural)."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    top_value, step = _nice_max(max([max(m.recurrences, m.fixes) for m in months] or [0]))
    body = _axes(top_value, step)
    group = plot_w / max(len(months), 1)
    bar = min(group * 0.36, 28)
    centres = []
    for i, m in enumerate(months):
        x0 = LEFT + i * group + group / 2
        centres.append(x0)
        base = TOP + plot_h
        label = month_label(m.month, with_year=True)

        def rect(x: float, value: int, bottom: float, colour: str, css: str, tip: str) -> str:
            h = plot_h * value / top_value
            return (
                f'<rect class="{css}" x="{x:.1f}" y="{bottom - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}" rx="2"><title>{escape(tip)}</title></rect>'
            )

        if m.recurrences:
            body.append(
                rect(x0 - bar - 1, m.recurrences, base, COLOURS["recurrences"], "bar-recurrences",
                     f"{label}: {m.recurrences} recurrence{'s' if m.recurrences != 1 else ''}")
            )  # fmt: skip
        if m.structural_fixes:
            body.append(
                rect(x0 + 1, m.structural_fixes, base, COLOURS["structural"], "bar-structural",
                     f"{label}: {m.structural_fixes} structural fix"
                     f"{'es' if m.structural_fixes != 1 else ''}")
            )  # fmt: skip
        if m.band_aid_fixes:
            bottom = base - plot_h * m.structural_fixes / top_value
            body.append(
                rect(x0 + 1, m.band_aid_fixes, bottom, COLOURS["band_aid"], "bar-band-aid",
                     f"{label}: {m.band_aid_fixes} band-aid fix"
                     f"{'es' if m.band_aid_fixes != 1 else ''}")
            )  # fmt: skip
    body += _month_labels([m.month for m in months], centres)
    total_rec = sum(m.recurrences for m in months)
    total_band = sum(m.band_aid_fixes for m in months)
    total_struct = sum(m.structural_fixes for m in months)
    span = (
        f"{month_label(months[0].month, with_year=True)} to "
        f"{month_label(months[-1].month, with_year=True)}"
        if months
        else "no months"
    )
    return _svg(
        chart_id,
        "Recurrences and fixes per month",
        f"{span}: {total_rec} recurrences, {total_band} band-aid fixes and {total_struct} "
        "structural fixes in all. The data table below lists every month.",
        body,
    )


def rate_chart(months: Sequence[Month], *, chart_id: str = "rate") -> SafeString:
    """Per month: the share of raisings that were recurrences, and the share of fixes that
    were band-aids, as two lines (a month without data leaves a gap)."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    body = _axes(100.0, 25.0, percent=True)
    group = plot_w / max(len(months), 1)
    centres = [LEFT + i * group + group / 2 for i in range(len(months))]
    series = (
        ("rate", "line-rate", "recurrence rate", [m.recurrence_share for m in months], ""),
        ("share", "line-share", "band-aid share of fixes", [m.band_aid_share for m in months],
         ' stroke-dasharray="6 4"'),
    )  # fmt: skip
    for colour_key, css, name, values, dash in series:
        colour = COLOURS[colour_key]
        segment: list[str] = []
        segments: list[list[str]] = [segment]
        for x, value in zip(centres, values, strict=True):
            if value is None:
                segment = []
                segments.append(segment)
                continue
            y = TOP + plot_h - plot_h * value
            segment.append(f"{x:.1f},{y:.1f}")
        for points in segments:
            if len(points) > 1:
                body.append(
                    f'<polyline class="{css}" points="{" ".join(points)}" fill="none" '
                    f'stroke="{colour}" stroke-width="2.5"{dash}/>'
                )
        for m, x, value in zip(months, centres, values, strict=True):
            if value is None:
                continue
            y = TOP + plot_h - plot_h * value
            tip = f"{month_label(m.month, with_year=True)}: {name} {round(value * 100)}%"
            body.append(
                f'<circle class="{css}" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(tip)}</title></circle>"
            )
    body += _month_labels([m.month for m in months], centres)
    return _svg(
        chart_id,
        "Recurrence rate and band-aid share per month",
        "Solid line: share of the raisings in a month that were recurrences. Dashed line: "
        "share of the fixes decided in a month that were band-aids. The data table below "
        "lists every month.",
        body,
    )
