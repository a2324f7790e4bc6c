"""Charts drawn on the server as SVG: nothing for a browser to build, no script, no library.

Colours are presentation attributes (``fill``), not style, so the page's Content-Security-Policy
(no inline style) allows them. Every bar has a ``<title>`` with its figure, and every chart a text
alternative (``role="img"`` and ``aria-label``); the figures are in a table beside it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

from plainrun.domain.runs import RunState

#: The order states are stacked in, and their colours (the state badges' tones).
STATE_COLOURS: dict[RunState, str] = {
    RunState.SUCCEEDED: "#1c7c43",
    RunState.FAILED: "#b3261e",
    RunState.TIMED_OUT: "#e07a5f",
    RunState.CANCELLED: "#8a93a3",
    RunState.AWAITING_GUIDANCE: "#f0b54a",
    RunState.WAITING: "#7aa2e8",
    RunState.RUNNING: "#2456c7",
    RunState.PENDING: "#c7cedb",
}

_W, _H, _LEFT, _BOTTOM, _TOP = 600, 200, 34, 22, 8


def _nice_top(value: int) -> int:
    """A round number at or above ``value`` for the top of an axis."""
    for step in (1, 2, 5):
        for power in range(0, 10):
            top = int(step * 10**power)
            if top >= value:
                return top
    return value


def runs_per_day(days: Sequence[date], per_day: dict[RunState, list[int]], label: str) -> Markup:
    """Stacked bars: the runs made on each day, by state."""
    totals = [sum(series[i] for series in per_day.values()) for i in range(len(days))]
    top = _nice_top(max(totals, default=0) or 1)
    plot_w, plot_h = _W - _LEFT - 4, _H - _BOTTOM - _TOP
    slot = plot_w / max(len(days), 1)
    parts = [
        f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{_W - 4}" y2="{_TOP + plot_h}" stroke="#b9c0cc"/>',
        f'<text x="{_LEFT - 4}" y="{_TOP + 8}" text-anchor="end" font-size="11" fill="#5b6475">{top}</text>',
        f'<text x="{_LEFT - 4}" y="{_TOP + plot_h}" text-anchor="end" font-size="11" fill="#5b6475">0</text>',
    ]
    for i, day in enumerate(days):
        x = _LEFT + i * slot + 1
        y = float(_TOP + plot_h)
        for state, colour in STATE_COLOURS.items():
            count = per_day.get(state, [0] * len(days))[i]
            if not count:
                continue
            h = plot_h * count / top
            y -= h
            title = f"{day.isoformat()}: {count} {state.value}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(slot - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{colour}" data-state="{state.value}" data-count="{count}">'
                f"<title>{escape(title)}</title></rect>"
            )
        if i % 7 == len(days) % 7 or i == len(days) - 1:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{_H - 6}" text-anchor="middle" font-size="11" '
                f'fill="#5b6475">{day.strftime("%d %b")}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def horizontal_bars(rows: Sequence[tuple[str, float, str]], label: str, colour: str = "#2456c7") -> Markup:
    """One bar per row of (name, share 0..1, the figure written beside it)."""
    row_h = 26
    height = row_h * max(len(rows), 1) + 6
    name_w, bar_w = 180, 300
    parts = [
        f'<svg viewBox="0 0 {name_w + bar_w + 110} {height}" role="img" aria-label="{escape(label)}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (name, share, figure) in enumerate(rows):
        y = 4 + i * row_h
        shown = name if len(name) <= 26 else name[:25] + "…"
        parts.append(f'<text x="0" y="{y + 16}" font-size="12" fill="#1d2330">{escape(shown)}</text>')
        parts.append(f'<rect x="{name_w}" y="{y + 4}" width="{bar_w}" height="16" fill="#eef1f5"/>')
        width = bar_w * max(0.0, min(share, 1.0))
        parts.append(
            f'<rect x="{name_w}" y="{y + 4}" width="{width:.1f}" height="16" fill="{colour}">'
            f"<title>{escape(name)}: {escape(figure)}</title></rect>"
        )
        parts.append(
            f'<text x="{name_w + bar_w + 6}" y="{y + 16}" font-size="12" fill="#5b6475">'
            f"{escape(figure)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
