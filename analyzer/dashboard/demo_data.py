"""The demo patient shipped in ``sample_images/``: its course and photo previews.

Until clinic records land (``analyzer.records``), the dashboard reads the demo
patient straight from ``sample_images/manifest.json``, which
``sample_images/make_demo.py`` writes beside the photos.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from analyzer.compare import compare
from analyzer.heatmap import change_heatmap
from analyzer.images import load_image
from analyzer.metrics import METRICS

__all__ = ["AlignedView", "DemoCourse", "DemoVisit", "aligned_view", "demo_folder", "load_demo_course",
           "preview"]


def demo_folder() -> Path:
    """Where the demo photos are: ``$ANALYZER_DEMO_DIR``, else the repository's ``sample_images/``."""
    env = os.environ.get("ANALYZER_DEMO_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "sample_images"


@dataclass(frozen=True)
class DemoVisit:
    """One capture occasion of the demo course: a treatment session or a follow-up."""

    session: int
    kind: str  # "treatment", "follow-up" or "review"
    date: dt.datetime
    needle_depth_mm: float | None
    hours_since_treatment: float | None
    photos: dict[str, str]  # view name -> file name in the demo folder

    @property
    def label(self) -> str:
        day = self.date.strftime("%d %b %Y")
        if self.kind == "follow-up":
            days = round((self.hours_since_treatment or 0) / 24)
            return f"Session {self.session} follow-up · {day} · day {days} after treatment"
        if self.needle_depth_mm:
            return f"Session {self.session} · {day} · microneedling {self.needle_depth_mm:g} mm"
        return f"Session {self.session} · {day} · review"


@dataclass(frozen=True)
class DemoCourse:
    """The demo patient and their visits, oldest first."""

    patient_name: str
    notes: str
    device: str
    zones_treated: tuple[str, ...]
    visits: tuple[DemoVisit, ...]

    @property
    def views(self) -> tuple[str, ...]:
        return tuple(self.visits[0].photos)


def load_demo_course(folder: Path) -> DemoCourse:
    """Read ``manifest.json`` from `folder`; raises FileNotFoundError if the demo was not built."""
    manifest = json.loads((folder / "manifest.json").read_text())
    visits = tuple(
        DemoVisit(
            session=int(s["session"]),
            kind=s["kind"],
            date=dt.datetime.fromisoformat(s["date"]),
            needle_depth_mm=s.get("needle_depth_mm"),
            hours_since_treatment=s.get("hours_since_treatment"),
            photos=dict(s["photos"]),
        )
        for s in manifest["sessions"]
    )
    return DemoCourse(
        patient_name=manifest["patient"]["name"],
        notes=manifest["patient"].get("notes", ""),
        device=manifest.get("device", ""),
        zones_treated=tuple(manifest.get("zones_treated", ())),
        visits=tuple(sorted(visits, key=lambda v: v.date)),
    )


def preview(path: Path, *, max_side: int = 1100) -> np.ndarray:
    """An upright RGB uint8 preview of a photo, its longer side at most `max_side` px."""
    image = load_image(path)
    scale = max_side / max(image.shape[:2])
    if scale >= 1.0:
        return image
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class AlignedView:
    """A later photo against the baseline: the verdict and, when aligned, the change heatmap
    and the measured changes (one row per metric of the whole skin)."""

    ok: bool
    score: float
    reason: str
    heatmap: np.ndarray | None  # (h, w, 3) uint8 RGB: baseline | aligned later photo with change
    changes: tuple[dict, ...] = ()  # metric, unit, baseline, this visit, change, beyond noise


def aligned_view(baseline: Path, later: Path, *, max_width: int = 1600) -> AlignedView:
    """Compare `later` with `baseline`, draw the change and list the metrics.

    Raises InvalidImage for a bad photo and NoSkin when there is no skin to measure.
    """
    fixed = load_image(baseline)
    comparison = compare(fixed, load_image(later))
    result = comparison.alignment
    if not result.ok:
        return AlignedView(False, result.score, result.reason, None)
    rows = []
    for m in METRICS:
        before, after = comparison.before[m.key], comparison.after[m.key]
        if not (math.isfinite(before) and math.isfinite(after)):
            continue
        rows.append({
            "Measure": m.label, "Unit": m.unit,
            "Baseline": round(before, m.decimals), "This visit": round(after, m.decimals),
            "Change": round(comparison.delta[m.key], m.decimals),
            "Beyond noise": comparison.significant[m.key],
        })
    heatmap = change_heatmap(fixed, result, max_width=max_width)
    return AlignedView(True, result.score, result.reason, heatmap, tuple(rows))
