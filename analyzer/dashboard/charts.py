"""Plotly figures and plain-language lines from a patient's timeline (pure: records in, figures out)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import plotly.graph_objects as go

from analyzer.metrics import info
from analyzer.metrics.repeatability import (
    light_between,
    light_beyond_factor,
    light_beyond_measured,
)
from analyzer.records import Timeline, TimelinePoint
from analyzer.recovery import Fading, fit_fading

__all__ = ["Recovery", "change_rows", "metric_chart", "plain_summary", "recovery", "recovery_chart",
           "step_limit"]

_SIGNIFICANT = "#c0392b"
_NOT_SIGNIFICANT = "#b0b0b0"
_BASELINE = "#2c3e50"
_TREATMENT = "#7f8c8d"
_EI = "redness.erythema_index"
_FOLLOW_UP_DAYS = 8  # photos this soon after a treatment belong to its recovery


def _value(point: TimelinePoint, key: str) -> float | None:
    v = point.values.get(key)
    return v if v is not None and math.isfinite(v) else None


def _light(point: TimelinePoint) -> str:
    return point.light or "camera"  # the larger (safer) noise figure when unknown


def _as_visit(timeline: Timeline, point: TimelinePoint) -> TimelinePoint | None:
    """`point` as the earlier visit of a step (step_limit): None when it is the baseline."""
    return None if point.photo_id == timeline.baseline_id else point


class Visit(Protocol):
    """A later visit as measured against the baseline: AnalysisRecord or TimelinePoint."""

    limits: Mapping[str, float | None]
    light_change: Mapping[str, float]


def step_limit(key: str, light: str, earlier: Visit | None, later: Visit) -> float:
    """The noise limit of a change between two visits, each measured against the baseline.

    ``earlier`` None: it is the baseline, and the limit is the later visit's own.
    Otherwise the step is the difference of two changes from the baseline, and the
    light that matters is how the two visits' light differed from each other
    (:func:`~analyzer.metrics.repeatability.light_between`): the larger of the two
    visits' limits as within the repeat photos' light (each one's widening for its
    light against the baseline's taken back out; compression kept), widened by
    ``LIGHT_BEYOND_FACTOR`` when the two were lit beyond the repeat photos from each
    other. Two visits lit alike after the baseline's room was left are then judged
    as repeat photos; two each within range of the baseline but at opposite ends,
    as lit beyond. inf (not judged) when either change was not judged or its visit
    holds no limits (analysed before they were kept).
    """
    if earlier is None:
        limit = later.limits.get(key)
        return math.inf if limit is None else float(limit)
    own = [visit.limits.get(key) for visit in (earlier, later)]
    if any(limit is None for limit in own):
        return math.inf
    within = max(float(limit) / _widening(key, light, visit) for limit, visit in zip(own, (earlier, later),
                                                                                    strict=True))
    step = light_between(dict(earlier.light_change), dict(later.light_change))
    return within * light_beyond_factor(key, light) if step and light_beyond_measured(step) else within


def _widening(key: str, light: str, visit: Visit) -> float:
    """The factor a visit's limits were widened by for its light against the baseline's (1: none)."""
    lit_beyond = visit.light_change and light_beyond_measured(dict(visit.light_change))
    return light_beyond_factor(key, light) if lit_beyond else 1.0


def change_rows(timeline: Timeline, key: str) -> list[dict]:
    """One row per measured visit: value, change vs baseline and vs the previous visit, each flagged.

    Change vs the baseline is the analysis's own (measured over the same skin);
    change vs the previous visit is the difference of the two values (on the
    timeline's scale, so the difference of the two visits' changes from the
    baseline), judged by :func:`step_limit` (``None`` when not judged).
    """
    meta = info(key)
    rows, previous = [], None
    for point in timeline.points:
        value = _value(point, key)
        if value is None:
            continue
        d_base = point.delta.get(key)
        d_prev = None if previous is None else value - _value(previous, key)
        limit = None if previous is None else step_limit(key, _light(point), _as_visit(timeline, previous),
                                                         point)
        rows.append({
            "Date": point.session.started_at.strftime("%Y-%m-%d"),
            "Treatment": point.session.treatment + (f" {point.session.needle_depth_mm:g} mm"
                                                    if point.session.needle_depth_mm else ""),
            meta.label: round(value, meta.decimals),
            "vs baseline": None if d_base is None else round(d_base, meta.decimals),
            "beyond noise (baseline)": bool(point.significant.get(key)) if d_base is not None else None,
            "vs previous": None if d_prev is None else round(d_prev, meta.decimals),
            "beyond noise (previous)": (None if d_prev is None or math.isinf(limit)
                                        else bool(abs(d_prev) > limit)),
        })
        previous = point
    return rows


def _judged(point: TimelinePoint, key: str, significant: bool) -> str:
    """How a visit's change was judged, for its hover: against which noise limit, or not at all."""
    limit = point.limits.get(key)
    if limit is None or not math.isfinite(limit):
        return " (not judged: see the notes on the Compare page)" if key in point.limits else ""
    words = "beyond" if significant else "within"
    return f" ({words} noise, ±{limit:.{info(key).decimals + 1}f})"


def metric_chart(timeline: Timeline, key: str, *, height: int = 360) -> go.Figure:
    """A metric across visits: baseline dark, changes beyond noise red, others grey; treatments marked."""
    meta = info(key)
    measured = [p for p in timeline.points if _value(p, key) is not None]
    fig = go.Figure()
    if measured:
        xs = [p.session.started_at for p in measured]
        ys = [_value(p, key) for p in measured]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#95a5a6", "width": 1.5},
                                 hoverinfo="skip", showlegend=False))
        colours, symbols, texts = [], [], []
        for p, y in zip(measured, ys, strict=True):
            d = p.delta.get(key)
            if p.photo_id == timeline.baseline_id:
                colours.append(_BASELINE), symbols.append("diamond")
                texts.append(f"baseline: {y:.{meta.decimals}f} {meta.unit}")
            else:
                sig = bool(p.significant.get(key))
                colours.append(_SIGNIFICANT if sig else _NOT_SIGNIFICANT), symbols.append("circle")
                texts.append(f"{y:.{meta.decimals}f} {meta.unit}" + ("" if d is None else
                             f"<br>{d:+.{meta.decimals}f} vs baseline{_judged(p, key, sig)}"))
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name=meta.label,
                                 marker={"color": colours, "symbol": symbols, "size": 11,
                                         "line": {"color": "white", "width": 1}},
                                 hovertext=texts, hoverinfo="x+text", showlegend=False))
    treated = [p for p in timeline.points if p.session.needle_depth_mm]
    if treated:
        values = [_value(p, key) for p in measured] or [0.0]
        low = min(values) - 0.12 * ((max(values) - min(values)) or abs(min(values)) * 0.05 or 1.0)
        fig.add_trace(go.Scatter(
            x=[p.session.started_at for p in treated], y=[low] * len(treated), mode="markers",
            name="treatment", marker={"symbol": "triangle-up", "size": 10, "color": _TREATMENT},
            hovertext=[f"{p.session.treatment} · needle depth {p.session.needle_depth_mm:g} mm"
                       + (f" · {p.session.device}" if p.session.device else "") for p in treated],
            hoverinfo="x+text", showlegend=False))
        top = max(values) + 0.05 * ((max(values) - min(values)) or 1.0)
        xs, ys = [], []
        for p in treated:  # one trace of dotted verticals (add_vline per visit is quadratic in plotly)
            xs += [p.session.started_at, p.session.started_at, None]
            ys += [low, top, None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                 line={"color": _TREATMENT, "width": 1, "dash": "dot"}))
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      title={"text": f"{meta.label} ({meta.unit}) — {meta.direction}", "font": {"size": 15}},
                      plot_bgcolor="white", hovermode="closest")
    fig.update_xaxes(showgrid=True, gridcolor="#eee")
    fig.update_yaxes(showgrid=True, gridcolor="#eee", zeroline=False)
    return fig


@dataclass(frozen=True)
class Recovery:
    """Redness after one treatment: hours after it, excess EI units over the visit's own photo, the fit."""

    treated_at: str
    hours: tuple[float, ...]
    excess: tuple[float, ...]
    fading: Fading | None


def recovery(timeline: Timeline) -> Recovery | None:
    """The latest treatment followed within 8 days by photos of this view, with its fading fitted."""
    points = [p for p in timeline.points if _value(p, _EI) is not None]
    for i in range(len(points) - 1, -1, -1):
        treated = points[i]
        if not treated.session.needle_depth_mm:
            continue
        start = treated.session.started_at
        later = [p for p in points[i + 1:]
                 if 0 < (p.session.started_at - start).total_seconds() <= _FOLLOW_UP_DAYS * 86400]
        if not later:
            continue
        hours = tuple((p.session.started_at - start).total_seconds() / 3600 for p in later)
        excess = tuple(_value(p, _EI) - _value(treated, _EI) for p in later)
        # each excess is a step from the treated visit: the widest of their limits that judged one
        limits = [step_limit(_EI, _light(p), _as_visit(timeline, treated), p) for p in later]
        noise = max((v for v in limits if math.isfinite(v)), default=math.inf)
        fading = fit_fading(hours, excess, noise=noise)
        return Recovery(start.strftime("%d %b %Y"), hours, excess, fading)
    return None


def recovery_chart(rec: Recovery, *, height: int = 320) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=rec.hours, y=rec.excess, mode="markers", name="measured",
                             marker={"size": 11, "color": _SIGNIFICANT}))
    if rec.fading is not None:
        t = np.linspace(0, max(max(rec.hours) * 1.6, 3 * rec.fading.tau_hours), 80)
        fig.add_trace(go.Scatter(x=t, y=rec.fading.excess_at(t), mode="lines", name="fitted fading",
                                 line={"color": "#7f8c8d", "dash": "dash"}))
    title = f"Redness after the treatment of {rec.treated_at}"
    if rec.fading is not None:
        title += f" — half-life {rec.fading.half_life_hours:.0f} h"
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, title={"text": title},
                      plot_bgcolor="white", xaxis_title="hours after treatment",
                      yaxis_title="extra erythema (EI units)")
    return fig


_PLAIN = {  # key -> (noun, word when lower, word when higher)
    "redness.erythema_index": ("redness", "lower", "higher"),
    "pigmentation.spot_count": ("brown spots", "fewer", "more"),
    "pigmentation.tone_unevenness": ("uneven tone", "more even", "less even"),
    "texture.roughness": ("skin texture", "smoother", "rougher"),
}


def plain_summary(timeline: Timeline) -> list[str]:
    """Lines a patient can read: each headline measure at the latest visit against the first."""
    follow_ups = [p for p in timeline.points if p.delta and p.photo_id != timeline.baseline_id]
    last = follow_ups[-1] if follow_ups else None
    if last is None:
        later = [p.status for p in timeline.points if p.photo_id not in (None, timeline.baseline_id)]
        if "pending" in later:
            return ["Your latest photos are still being measured: the changes show here once they are."]
        if later:  # refused (another area of skin) or no skin found
            return ["Your latest photos could not be compared with your first: ask your practitioner."]
        return ["There is only your first visit so far: changes show from your next photos."]
    first = next(p for p in timeline.points if p.photo_id == timeline.baseline_id)
    lines = []
    for key, (noun, down, up) in _PLAIN.items():
        d = last.delta.get(key)
        base = _value(first, key)
        if d is None or base is None:
            continue
        if not last.significant.get(key):
            lines.append(f"{noun.capitalize()}: no clear change yet.")
            continue
        if key == "pigmentation.spot_count":
            n = abs(round(d))
            lines.append(f"{noun.capitalize()}: {n} {down if d < 0 else up} than at your first visit.")
        elif base > 0 and key == "redness.erythema_index":
            lines.append(f"{noun.capitalize()} is {abs(d) / base:.0%} {down if d < 0 else up} than at "
                         "your first visit.")
        else:
            lines.append(f"{noun.capitalize()}: {down if d < 0 else up} than at your first visit.")
    return lines
