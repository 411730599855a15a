"""Inline SVG of a job's DAG and of small bar charts. Every text is escaped here; colours come
from classes of the page's own style sheet (the CSP allows no inline style)."""

from __future__ import annotations

from html import escape

from provider.ui.figures import Series
from provider.ui.models import JobView

__all__ = ["PHASES", "bar_chart", "dag", "duration"]

# The only phases a class name is built from; anything else draws as pending.
PHASES = ("Pending", "Running", "Succeeded", "Failed", "Skipped")
_NODE_W, _NODE_H, _GAP = 150, 48, 40
_CHART_W, _CHART_H, _AXIS = 300, 90, 14
_MAX_BAR_W = 36.0


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _phase_class(phase: str) -> str:
    return phase.lower() if phase in PHASES else "pending"


def dag(job: JobView) -> str:
    """configure → algorithm → publish, each box coloured by its step's state."""
    width = len(job.steps) * (_NODE_W + _GAP) - _GAP + 2
    parts = [
        f'<svg class="dag" role="img" viewBox="0 0 {width} {_NODE_H + 2}" width="{width}"'
        f' height="{_NODE_H + 2}" aria-label="DAG of job {escape(job.job_id)}">'
    ]
    for index, step in enumerate(job.steps):
        x = 1 + index * (_NODE_W + _GAP)
        if index:
            y = 1 + _NODE_H // 2
            parts.append(f'<path class="edge" d="M{x - _GAP} {y} H{x - 6} l-6 -4 m6 4 l-6 4"/>')
        tip = f"{step.name}: {step.phase}" + (f" — {step.message}" if step.message else "")
        parts.append(
            f'<g class="step {_phase_class(step.phase)}" data-step="{escape(step.name)}"'
            f' data-phase="{escape(step.phase)}"><title>{escape(tip)}</title>'
            f'<rect x="{x}" y="1" width="{_NODE_W}" height="{_NODE_H}" rx="6"/>'
            f'<text x="{x + _NODE_W // 2}" y="21" text-anchor="middle">{escape(step.name)}</text>'
            f'<text class="sub" x="{x + _NODE_W // 2}" y="39" text-anchor="middle">'
            f"{escape(step.phase)} · {escape(duration(step.seconds))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"


def bar_chart(series: Series) -> str:
    """A small bar chart of ``series``; its highest value is written on the axis."""
    count = max(1, len(series.values))
    top = max(series.values, default=0.0)
    plot_h = _CHART_H - _AXIS
    bar_w = min(_CHART_W / count, _MAX_BAR_W)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {_CHART_W} {_CHART_H}" width="{_CHART_W}"'
        f' height="{_CHART_H}" aria-label="{escape(series.title)}">',
        f'<line class="axis" x1="0" y1="{plot_h}" x2="{_CHART_W}" y2="{plot_h}"/>',
        f'<text class="sub" x="2" y="10">max {escape(_number(top))} {escape(series.unit)}</text>',
    ]
    if not series.values:
        parts.append(f'<text class="sub" x="2" y="{plot_h - 4}">nothing yet</text>')
    for index, (label, value) in enumerate(zip(series.labels, series.values, strict=True)):
        height = 0.0 if top <= 0 else (plot_h - 14) * value / top
        x = index * bar_w
        parts.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{plot_h - height:.1f}"'
            f' width="{max(1.0, bar_w - 2):.1f}" height="{height:.1f}">'
            f"<title>{escape(label)}: {escape(_number(value))} {escape(series.unit)}</title></rect>"
        )
    if series.labels:
        parts.append(
            f'<text class="sub" x="0" y="{_CHART_H - 2}">{escape(series.labels[0])}</text>'
        )
        parts.append(
            f'<text class="sub" x="{count * bar_w:.1f}" y="{_CHART_H - 2}" text-anchor="end">'
            f"{escape(series.labels[-1])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
