"""The patient's words, charts and PDF, from a timeline with known values."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace

import numpy as np
import pytest
from pypdf import PdfReader

from analyzer.dashboard.charts import change_rows, metric_chart, plain_summary, recovery, step_limit
from analyzer.metrics.repeatability import (
    light_between,
    light_beyond_factor,
    light_beyond_measured,
    minimal_detectable_change,
)
from analyzer.records import PatientRecord, SessionRecord, Timeline, TimelinePoint
from analyzer.report import patient_report

EI, SPOTS, ROUGH, UNEVEN = ("redness.erythema_index", "pigmentation.spot_count", "texture.roughness",
                            "pigmentation.tone_unevenness")
T0 = dt.datetime(2026, 3, 2, 10, 0)


def _session(i: int, when: dt.datetime, depth: float | None) -> SessionRecord:
    treatment = "microneedling" if depth else "follow-up photos"
    return SessionRecord(i, 1, when, treatment, "Pen", depth, (), (), "", None, None)


def _point(i, when, depth, values, delta=None, significant=None, limits=None) -> TimelinePoint:
    """A visit; a follow-up's changes judged against the front view's limits unless `limits` says."""
    if limits is None and delta:
        limits = {key: minimal_detectable_change(key, "reference") for key in delta}
    return TimelinePoint(_session(i, when, depth), 100 + i, "measured", "", values, delta or {},
                         significant or {}, "reference", limits or {})


@pytest.fixture
def timeline() -> Timeline:
    base = {EI: 12.5, SPOTS: 6.0, ROUGH: 50.0, UNEVEN: 1.0}
    return Timeline(1, "front", 100, (
        _point(0, T0, 1.0, base),
        _point(1, T0 + dt.timedelta(hours=20), None, {**base, EI: 18.5}, {EI: 6.0, SPOTS: 0, ROUGH: 0.1},
               {EI: True, SPOTS: False, ROUGH: False}),
        _point(2, T0 + dt.timedelta(hours=68), None, {**base, EI: 14.0}, {EI: 1.5, SPOTS: 0, ROUGH: 0.0},
               {EI: True, SPOTS: False, ROUGH: False}),
        _point(3, T0 + dt.timedelta(days=84), 1.5, {**base, EI: 9.5, SPOTS: 4.0},
               {EI: -3.0, SPOTS: -2.0, ROUGH: -0.2, UNEVEN: 0.0},
               {EI: True, SPOTS: True, ROUGH: False, UNEVEN: False}),
    ))


def test_plain_summary_speaks_of_the_latest_visit_against_the_first(timeline):
    assert plain_summary(timeline) == [
        "Redness is 24% lower than at your first visit.",  # 3.0 / 12.5
        "Brown spots: 2 fewer than at your first visit.",
        "Uneven tone: no clear change yet.",
        "Skin texture: no clear change yet.",
    ]


def test_a_single_visit_has_nothing_to_compare_yet(timeline):
    only = Timeline(1, "front", 100, timeline.points[:1])
    assert plain_summary(only) == [
        "There is only your first visit so far: changes show from your next photos."]


def test_change_rows_judge_each_step_against_noise(timeline):
    rows = change_rows(timeline, EI)
    assert [r["vs baseline"] for r in rows] == [None, 6.0, 1.5, -3.0]
    assert [r["vs previous"] for r in rows] == [None, 6.0, -4.5, -4.5]
    assert [r["beyond noise (previous)"] for r in rows] == [None, True, True, True]
    spots = change_rows(timeline, SPOTS)
    assert [r["beyond noise (previous)"] for r in spots][1:] == [False, False, True]  # MDC of spots is 1


def test_a_step_is_judged_by_the_wider_limit_of_its_two_visits(timeline):
    """A visit compressed again widens the steps to and from it; one not judged leaves them unjudged."""
    first, treated, later, last = timeline.points
    wide = {**later.limits, EI: 5.0}  # this visit's changes need 5.0 (its neighbours' 0.08)
    lit = Timeline(1, "front", 100, (first, treated, replace(later, limits=wide), last))
    assert [r["beyond noise (previous)"] for r in change_rows(lit, EI)] == [None, True, False, False]
    unjudged = Timeline(1, "front", 100, (first, treated, replace(later, limits={**wide, EI: None}), last))
    assert [r["beyond noise (previous)"] for r in change_rows(unjudged, EI)] == [None, True, None, None]
    # analysed before limits were kept (a downgrade and upgrade of the records): not judged
    kept_none = Timeline(1, "front", 100, (first, treated, replace(later, limits={}), last))
    assert [r["beyond noise (previous)"] for r in change_rows(kept_none, EI)] == [None, True, None, None]
    assert step_limit(EI, "reference", None, replace(later, limits={EI: 0.1})) == 0.1  # from the baseline


# Two visits' light, each against the baseline's (Tone.change()): within the repeat photos' range of
# it, but at opposite ends (brightness +24 % and -19 %: 0.65x from each other), or both beyond it alike
# (the clinic moved to another room after the baseline: blue balance +9 % at each)
BRIGHT, DIM, SAME = {"brightness": 1.24}, {"brightness": 0.81}, {"brightness": 1.0}
MOVED = {"blue_balance": 1.09}


def test_a_step_is_judged_by_how_its_two_visits_light_differed_from_each_other(timeline):
    first, treated, later, last = timeline.points  # roughness steps: +0.1, -0.1, -0.2 (limit 0.0395)
    mdc, factor = (minimal_detectable_change(ROUGH, "reference"), light_beyond_factor(ROUGH, "reference"))
    assert 0.1 < factor * mdc  # a step of 0.1 is beyond the repeat photos' limit, within the widened

    def lit(p, light):
        """Visit `p` lit so against the baseline: its limits widened if that is beyond."""
        widen = light_beyond_measured(light)
        rough = first.values[ROUGH] + p.delta[ROUGH]
        return replace(p, light_change=light, values={**p.values, ROUGH: rough},
                       limits={k: v * (light_beyond_factor(k, "reference") if widen else 1.0)
                               for k, v in p.limits.items()})

    def steps(*lights):
        """'beyond noise (previous)' of roughness, each later visit lit so."""
        points = [first] + [lit(p, light) for p, light in zip((treated, later, last), lights, strict=True)]
        return [r["beyond noise (previous)"] for r in change_rows(Timeline(1, "front", 100, tuple(points)),
                                                                   ROUGH)]

    assert steps(SAME, SAME, SAME) == [None, True, True, True]  # lit as repeat photos are
    assert not light_beyond_measured(BRIGHT) and not light_beyond_measured(DIM)  # each within range of
    assert light_beyond_measured(light_between(BRIGHT, DIM))  # the baseline, but not of each other:
    assert steps(BRIGHT, DIM, SAME) == [None, True, False, True]  # -0.1 within the widened limit
    assert steps(MOVED, MOVED, MOVED) == [None, False, True, True]  # widened from the baseline only
    assert steps(MOVED, MOVED, SAME) == [None, False, True, True]  # back in the baseline's room: widened
    assert light_beyond_measured(light_between(MOVED, SAME))  # (-0.2 beyond 2.65 x 0.0395 all the same)


def test_recovery_fits_the_fading_after_the_last_treatment_with_follow_ups(timeline):
    rec = recovery(timeline)
    assert rec.hours == pytest.approx((20.0, 68.0)) and rec.excess == pytest.approx((6.0, 1.5))
    tau = 48 / np.log(4)  # 6.0 -> 1.5 in 48 h
    assert rec.fading.tau_hours == pytest.approx(tau, rel=1e-6)


def test_chart_marks_baseline_significant_and_treatments(timeline):
    fig = metric_chart(timeline, SPOTS)
    markers = next(t for t in fig.data if t.mode == "markers" and t.name == "Brown spots")
    assert list(markers.marker.symbol) == ["diamond", "circle", "circle", "circle"]
    assert list(markers.marker.color)[1:] == ["#b0b0b0", "#b0b0b0", "#c0392b"]  # grey: within noise
    treatments = next(t for t in fig.data if t.name == "treatment")
    assert len(treatments.x) == 2 and "needle depth 1.5 mm" in treatments.hovertext[1]
    # each change says the noise limit it was judged against, or that it was not judged
    assert markers.hovertext[1].endswith("+0 vs baseline (within noise, ±1.0)")
    assert markers.hovertext[3].endswith("-2 vs baseline (beyond noise, ±1.0)")
    first, treated, later, last = timeline.points
    unjudged = Timeline(1, "front", 100, (first, treated, later, replace(last, limits={SPOTS: None})))
    markers = next(t for t in metric_chart(unjudged, SPOTS).data if t.name == "Brown spots")
    assert markers.hovertext[3].endswith("-2 vs baseline (not judged: see the notes on the Compare page)")


def test_report_is_a_one_page_pdf_with_the_patients_words(timeline):
    patient = PatientRecord(1, "Ana Müller", None, 1980, 3, "", True, dt.date(2026, 3, 2), T0)
    photo = np.full((400, 300, 3), 180, np.uint8)
    pdf = patient_report(patient, timeline, photo, photo, plain_summary(timeline), version="1.0",
                         today=dt.date(2026, 6, 1))
    assert pdf.startswith(b"%PDF-")
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Ana Müller" in text and "Redness is 24% lower" in text and "algorithm 1.0" in text
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


def test_a_follow_up_not_yet_measured_is_said_to_be_on_its_way(timeline):
    first, later = timeline.points[0], timeline.points[1]
    pending = TimelinePoint(later.session, later.photo_id, "pending", "", {}, {}, {}, "reference")
    assert plain_summary(Timeline(1, "front", 100, (first, pending))) == [
        "Your latest photos are still being measured: the changes show here once they are."]


def test_report_says_an_outlined_area_and_fits_a_long_name(timeline):
    name = "Maria " + "Schmidt-" * 20 + "Ende"
    patient = PatientRecord(1, name, None, 1980, 3, "", True, dt.date(2026, 3, 2), T0)
    photo = np.full((400, 300, 3), 180, np.uint8)
    pdf = patient_report(patient, timeline, photo, photo, plain_summary(timeline), version="1.0",
                         today=dt.date(2026, 6, 1), outlined=True)
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    text = page.extract_text()
    assert "your practitioner outlined" in text
    assert "Maria Schmidt-Schmidt" in text and "…" in text and name not in text
    assert "report of 01 Jun 2026" in text
    plain = patient_report(patient, timeline, photo, photo, [], version="1.0", today=dt.date(2026, 6, 1))
    assert "outlined" not in PdfReader(io.BytesIO(plain)).pages[0].extract_text()


@pytest.mark.parametrize("name", ["Zoë Łukasiewicz-Øberg", "Ivan Петров", "Ελένη Παππά", "王小明",
                                  "山田 はなこ", "김민준", "Ana Müller 王"])
def test_report_prints_the_patients_name_as_they_spell_it(timeline, name):
    patient = PatientRecord(1, name, None, 1980, 3, "", True, dt.date(2026, 3, 2), T0)
    photo = np.full((400, 300, 3), 180, np.uint8)
    pdf = patient_report(patient, timeline, photo, None, [], version="1.0", today=dt.date(2026, 6, 1))
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert name.replace(" ", "") in text.replace(" ", "").replace("\n", "") and "■" not in text


def test_the_header_after_a_cjk_name_is_back_in_the_pages_font(timeline):
    patient = PatientRecord(1, "王小明", None, 1980, 3, "", True, dt.date(2026, 3, 2), T0)
    photo = np.full((400, 300, 3), 180, np.uint8)
    pdf = patient_report(patient, timeline, photo, None, [], version="1.0", today=dt.date(2026, 6, 1))
    fonts = []
    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(
        visitor_text=lambda text, cm, tm, font, size: fonts.append((text, (font or {}).get("/BaseFont"))))
    assert next(f for text, f in fonts if "report of" in text) == "/Helvetica"


@pytest.mark.parametrize("ratio", [1.0, 16 / 9, 3.0])  # a phone portrait, and a strip of a photo
def test_a_tall_photo_is_narrowed_to_leave_the_charts_and_the_footer_clear(timeline, ratio):
    patient = PatientRecord(1, "Ana Müller", None, 1980, 3, "", True, dt.date(2026, 3, 2), T0)
    photo = np.full((round(300 * ratio), 300, 3), 180, np.uint8)
    pdf = patient_report(patient, timeline, photo, photo, plain_summary(timeline) + ["One more line."],
                         version="1.0", today=dt.date(2026, 6, 1), outlined=True)
    images, texts, matrix = [], {}, [None]

    def operand(op, args, cm, tm):
        if op == b"cm":
            matrix[0] = [float(a) for a in args]
        elif op == b"Do":
            images.append(matrix[0])  # (w, 0, 0, h, x, y): drawn in a box at (x, y) of w x h points

    def text(t, cm, tm, font, size):
        if t.strip():
            texts.setdefault(t.strip(), tm[5])

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_operand_before=operand, visitor_text=text)
    assert len(images) == 2
    lowest = min(m[5] for m in images)
    assert all(m[3] / m[0] == pytest.approx(ratio, rel=0.01) for m in images)  # not stretched
    heading = next(y for t, y in texts.items() if t.startswith("What changed"))
    chart = next(y for t, y in texts.items() if t.startswith("Erythema index"))
    footer = next(y for t, y in texts.items() if t.startswith("Red points"))
    assert heading < lowest and chart - 42 * 72 / 25.4 > footer + 8


def test_a_follow_up_that_could_not_be_compared_is_not_called_the_first_visit(timeline):
    first, later = timeline.points[0], timeline.points[1]
    refused = TimelinePoint(later.session, later.photo_id, "refused", "another area", {}, {}, {}, "reference")
    assert plain_summary(Timeline(1, "front", 100, (first, refused))) == [
        "Your latest photos could not be compared with your first: ask your practitioner."]


def test_the_reports_charts_name_the_first_and_latest_visits_dates_and_values(timeline):
    """Not the axis's limits, which are padding: the corners read 19.9 and 8.2 for visits from 9.5 to 18.5."""
    patient = PatientRecord(1, "Ana Müller", None, 1980, 3, "", True, dt.date(2026, 3, 2), T0)
    photo = np.full((400, 300, 3), 180, np.uint8)
    text = PdfReader(io.BytesIO(patient_report(patient, timeline, photo, photo, [], version="1.0",
                                               today=dt.date(2026, 6, 1)))).pages[0].extract_text()
    for label in ("02 Mar: 12.5", "25 May: 9.5", "02 Mar: 6", "25 May: 4", "02 Mar: 50.00", "higher = redder",
                  "lower = smoother"):
        assert label in text, label
    later = timeline.points[-1]
    next_year = TimelinePoint(_session(9, dt.datetime(2027, 1, 15, 10), None), 109, "measured", "",
                              {**later.values, EI: 8.0}, {EI: -4.5}, {EI: True}, "reference")
    longer = Timeline(1, "front", 100, (*timeline.points, next_year))
    text = PdfReader(io.BytesIO(patient_report(patient, longer, photo, photo, [], version="1.0",
                                               today=dt.date(2027, 2, 1)))).pages[0].extract_text()
    assert "02 Mar 2026: 12.5" in text and "15 Jan 2027: 8.0" in text
