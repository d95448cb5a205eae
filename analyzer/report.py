"""The patient's PDF report: their first and latest photos, plain-language lines, three small charts.

Pure: records and pixels in, PDF bytes out (A4, ReportLab). The dashboard
gathers the inputs from the records; nothing here reads files.
"""

from __future__ import annotations

import datetime as dt
import io
import math

import numpy as np
from PIL import Image
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from analyzer import report_names
from analyzer.metrics import info
from analyzer.records import PatientRecord, Timeline

__all__ = ["CHART_KEYS", "patient_report"]

CHART_KEYS = ("redness.erythema_index", "pigmentation.spot_count", "texture.roughness")
# The patient's name is drawn by analyzer.report_names, in a font for its script; Helvetica, the rest
# of the page's font, has Latin-1 only: "Łukasiewicz" printed with a black box.
_CHART_H = 42 * mm
_FOOTER_TOP = 25 * mm  # from the page's foot: three lines of 8 pt from 18 mm up, and a gap
_RED, _GREY, _DARK, _LINE = HexColor("#c0392b"), HexColor("#b0b0b0"), HexColor("#2c3e50"), HexColor("#95a5a6")


def patient_report(patient: PatientRecord, timeline: Timeline, first: np.ndarray, latest: np.ndarray | None,
                   lines: list[str], *, version: str, today: dt.date | None = None,
                   outlined: bool = False) -> bytes:
    """A one-page A4 PDF for the patient.

    Parameters
    ----------
    patient : PatientRecord
    timeline : Timeline
        The view shown (usually the front), with cached analyses.
    first, latest : (H, W, 3) uint8 ndarray
        The baseline photo and the latest photo aligned onto it (None if there is none).
    lines : list of str
        Plain-language summary (:func:`analyzer.dashboard.charts.plain_summary`).
    version : str
        Algorithm version of the measurements (printed in the footer).
    outlined : bool
        The view is measured inside an area the practitioner outlined (said under the summary).
    """
    today = today or dt.date.today()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=True)
    c.setTitle(f"Skin progress report: {patient.name}")
    c.setAuthor("skin-analyzer")
    width, height = A4
    x0, y = 18 * mm, height - 22 * mm
    c.setFont("Helvetica-Bold", 18)
    c.drawString(x0, y, "Your skin progress")
    c.setFont("Helvetica", 10)
    dates = [p.session.started_at for p in timeline.points]
    period = f"{min(dates):%d %b %Y} to {max(dates):%d %b %Y}" if dates else "no visits yet"
    rest = f" · visits {period} · report of {today:%d %b %Y}"
    name = report_names.fitted(patient.name, width - 2 * x0 - stringWidth(rest, "Helvetica", 10), 10)
    end = report_names.draw(c, x0, y - 6 * mm, name, 10)
    c.setFont("Helvetica", 10)
    c.drawString(end, y - 6 * mm, rest)

    y -= 12 * mm
    photo_w = (width - 2 * x0 - 6 * mm) / 2
    shown = [(first, "First visit")]
    if latest is not None:
        shown.append((latest, "Latest visit (aligned to the first)"))
    # what goes below the photos: their captions, the summary and its note, the charts, the footer
    below = 12 * mm + 6 * mm * (len(lines) + outlined) + 10 * mm + _CHART_H + 10 * mm + _FOOTER_TOP
    room = y - below  # a tall photo (a 9:16 phone portrait) is narrowed to it, not drawn over the charts
    photo_h = 0.0
    for i, (image, caption) in enumerate(shown):
        ratio = image.shape[0] / image.shape[1]
        h = min(photo_w * ratio, room)
        photo_h = max(photo_h, h)
        left = x0 + i * (photo_w + 6 * mm)
        c.drawImage(_reader(image), left + (photo_w - h / ratio) / 2, y - h, h / ratio, h)  # centred
        c.setFont("Helvetica", 9)
        c.drawString(left, y - h - 4 * mm, caption)
    y -= photo_h + 12 * mm

    c.setFont("Helvetica-Bold", 12)
    c.drawString(x0, y, "What changed")
    c.setFont("Helvetica", 11)
    for line in lines:
        y -= 6 * mm
        c.drawString(x0 + 3 * mm, y, f"•  {line}")
    if outlined:
        y -= 6 * mm
        c.setFont("Helvetica-Oblique", 10)
        c.drawString(x0 + 3 * mm, y, "Measured on the treated skin your practitioner outlined.")
    y -= 10 * mm

    chart_w = (width - 2 * x0 - 8 * mm) / 3
    chart_h = _CHART_H
    for i, key in enumerate(CHART_KEYS):
        _chart(c, timeline, key, x0 + i * (chart_w + 4 * mm), y - chart_h, chart_w, chart_h)
    y -= chart_h + 10 * mm

    c.setFont("Helvetica", 8)
    c.setFillColor(HexColor("#555555"))
    for k, text in enumerate([
        "Red points: a change from your first visit larger than repeat photos of unchanged skin show; "
        "grey points: within that noise.",
        f"Measured from your photos by skin-analyzer (algorithm {version}).",
        "A record of treatment progress, not a diagnosis: ask your practitioner about anything here.",
    ]):
        c.drawString(x0, 18 * mm - k * 4 * mm, text)
    c.showPage()
    c.save()
    return buf.getvalue()


def _reader(image: np.ndarray, max_side: int = 900) -> ImageReader:
    """The photo as JPEG (embedded as is: a few hundred kB instead of MBs of raw pixels)."""
    pil = Image.fromarray(image)
    pil.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    pil.save(buf, "JPEG", quality=88)
    buf.seek(0)
    return ImageReader(buf)


def _chart(c: Canvas, timeline: Timeline, key: str, x: float, y: float, w: float, h: float) -> None:
    """A small line chart of ``key`` over the visits in the box (x, y, w, h), points by significance.

    Labelled as a patient reads it: which way is higher in words, and under the box the first
    and the latest visit's dates with their values (not the axis's limits, which are padding).
    """
    meta = info(key)
    points = [(p.session.started_at, p.values.get(key), p) for p in timeline.points]
    points = [(t, v, p) for t, v, p in points if v is not None and math.isfinite(v)]
    c.setFont("Helvetica-Bold", 9)
    c.setFillColor(_DARK)
    c.drawString(x, y + h + 2 * mm, f"{meta.label} ({meta.unit})")
    c.setFont("Helvetica", 7)
    c.drawRightString(x + w - 1 * mm, y + h - 3 * mm, meta.direction)
    c.setStrokeColor(HexColor("#dddddd"))
    c.rect(x, y, w, h, stroke=1, fill=0)
    if len(points) < 1:
        return
    t0 = points[0][0].timestamp()
    span = max(points[-1][0].timestamp() - t0, 1.0)
    values = [v for _, v, _ in points]
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.15, abs(hi) * 0.02, 10 ** -meta.decimals)
    lo, hi = lo - pad, hi + 2 * pad  # room at the top for the direction

    def at(t, v):
        return (x + 4 * mm + (w - 8 * mm) * (t.timestamp() - t0) / span,
                y + 3 * mm + (h - 6 * mm) * (v - lo) / (hi - lo))

    c.setStrokeColor(_LINE)
    path = c.beginPath()
    for i, (t, v, _) in enumerate(points):
        px, py = at(t, v)
        path.moveTo(px, py) if i == 0 else path.lineTo(px, py)
    c.drawPath(path, stroke=1, fill=0)
    for t, v, p in points:
        px, py = at(t, v)
        colour = _DARK if p.photo_id == timeline.baseline_id else (_RED if p.significant.get(key) else _GREY)
        c.setFillColor(colour)
        c.circle(px, py, 1.6 * mm, stroke=0, fill=1)
    c.setFillColor(_DARK)
    c.setFont("Helvetica", 7)
    ends = points[:1] if len(points) == 1 else [points[0], points[-1]]
    with_year = ends[0][0].year != ends[-1][0].year
    for (t, v, _), (draw, at_x) in zip(ends, ((c.drawString, x), (c.drawRightString, x + w)), strict=False):
        date = f"{t:%d %b %Y}" if with_year else f"{t:%d %b}"
        draw(at_x, y - 3.4 * mm, f"{date}: {v:.{meta.decimals}f}")
