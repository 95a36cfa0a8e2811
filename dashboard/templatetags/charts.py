"""Charts drawn on the server as inline SVG, each with its text alternative.

    {% load charts %}
    {% throughput_chart points label %}   a chart of operations completed and failed
    {% sparkline points queue %}          a queue's messages per minute, small

Colours come from the stylesheet's variables (light and dark); the words say it all
too: a chart has a <title> and a <desc> summing it up, and a visually hidden table
of its non-empty buckets follows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

WIDTH, HEIGHT = 720, 180
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 22


@register.filter
def thousands(value: Any) -> str:
    """12400 -> "12,400"; None -> "—" (unknown)."""
    if value is None or value == "":
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:,.0f}" if number == int(number) else f"{number:,.1f}"


@register.filter
def ago(moment: Any) -> str:
    """A moment as "12 s ago", "4 min ago"."""
    if moment is None:
        return "never"
    from dashboard.flow import duration

    return f"{duration(max(timezone.now() - moment, timedelta(0)))} ago"


def _when(point: Any) -> str:
    local = timezone.localtime(point.start)
    return f"{local:%a %H:%M}" if point.bucket >= 3600 else f"{local:%H:%M}"


def _path(values: Sequence[float], top: float, width: float, height: float, left: float) -> str:
    if not values:
        return ""
    step = width / max(len(values) - 1, 1)
    return " ".join(
        f"{left + i * step:.1f},{TOP + height - (v / top) * height:.1f}"
        for i, v in enumerate(values)
    )


@register.simple_tag
def throughput_chart(points: Sequence[Any], label: str = "") -> SafeString:
    """Operations completed and failed per bucket of `points` (queues.metrics.Point)."""
    done = [p.operations for p in points]
    failed = [p.operations_failed for p in points]
    peak = max([*done, *failed, 0])
    top = max(peak, 1) * 1.1
    width, height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    unit = (
        "minute"
        if not points or points[0].bucket == 60
        else ("5 minutes" if points[0].bucket == 300 else "hour")
    )
    total_done, total_failed = sum(done), sum(failed)
    if points and peak:
        at = points[max(range(len(points)), key=lambda i: done[i] + failed[i])]
        busiest = f" The busiest {unit} began at {_when(at)}."
    else:
        busiest = ""
    summary = (
        f"Operations per {unit}, {label}: {total_done:,} completed, {total_failed:,} failed, "
        f"at most {peak:,} in one {unit}.{busiest}"
    )
    grid = format_html_join(
        "",
        '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>',
        (
            (
                LEFT,
                WIDTH - RIGHT,
                f"{TOP + height - f * height:.1f}",
                f"{TOP + height - f * height:.1f}",
                LEFT - 6,
                f"{TOP + height - f * height + 4:.1f}",
                f"{round(top * f):,}",
            )
            for f in (0.0, 0.5, 1.0)
        ),
    )
    labels = ""
    if points:
        labels = format_html(
            '<text class="chart-axis" x="{}" y="{}">{}</text>'
            '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>',
            LEFT,
            HEIGHT - 4,
            _when(points[0]),
            WIDTH - RIGHT,
            HEIGHT - 4,
            _when(points[-1]),
        )
    done_line = _path(done, top, width, height, LEFT)
    failed_line = _path(failed, top, width, height, LEFT)
    area = ""
    if done_line:
        area = format_html(
            '<polygon class="chart-done-area" points="{} {},{} {},{}"/>',
            done_line,
            f"{LEFT + width:.1f}",
            TOP + height,
            LEFT,
            TOP + height,
        )
    svg = format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="chart-title chart-desc"'
        ' preserveAspectRatio="none">'
        '<title id="chart-title">Throughput, {}</title><desc id="chart-desc">{}</desc>'
        "{}{}{}"
        '<polyline class="chart-done" points="{}"/>'
        '<polyline class="chart-failed" points="{}"/>'
        "</svg>",
        WIDTH,
        HEIGHT,
        label,
        summary,
        grid,
        labels,
        area,
        done_line,
        failed_line,
    )
    rows = format_html_join(
        "",
        '<tr><th scope="row">{}</th><td>{}</td><td>{}</td></tr>',
        (
            (_when(p), f"{p.operations:,}", f"{p.operations_failed:,}")
            for p in points
            if p.operations or p.operations_failed
        ),
    )
    table = format_html(
        '<table class="visually-hidden"><caption>{}</caption>'
        '<thead><tr><th scope="col">From</th><th scope="col">Completed</th>'
        '<th scope="col">Failed</th></tr></thead><tbody>{}</tbody></table>',
        summary,
        rows or mark_safe('<tr><td colspan="3">No operation ran.</td></tr>'),
    )
    return format_html(
        '{}<p class="chart-legend"><span class="legend-done">━ completed</span> '
        '<span class="legend-failed">┅ failed</span></p>{}',
        svg,
        table,
    )


@register.simple_tag
def sparkline(points: Sequence[Any], name: str = "") -> SafeString:
    """A queue's messages handled per minute over `points`, 120×24, with a title."""
    values = [p.messages + p.failed for p in points]
    total = sum(values)
    text = (
        f"{name}: {total:,} messages handled in the last hour"
        if points
        else (f"{name}: no message handled in the last hour")
    )
    if not values:
        values = [0, 0]
    top = max(max(values), 1)
    width, height = 120, 24
    step = width / max(len(values) - 1, 1)
    line = " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values)
    )
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {} {}" width="{}" height="{}" role="img"'
        ' preserveAspectRatio="none"><title>{}</title><polyline points="{}"/></svg>',
        width,
        height,
        width,
        height,
        text,
        line,
    )


@register.filter
def duration(delta: Any) -> str:
    """A timedelta in plain words: "40 s", "3 min", "2 h 5 min"."""
    if delta is None:
        return "—"
    from dashboard.flow import duration as words

    return words(delta)
