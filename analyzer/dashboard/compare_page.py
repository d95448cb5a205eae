"""Compare: two visits of one view, aligned on the baseline; slider, blink or side by side; change maps."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from analyzer.change_maps import FAMILIES
from analyzer.compression import limit_factor
from analyzer.dashboard.area import area_caption, area_panel
from analyzer.dashboard.charts import step_limit
from analyzer.dashboard.common import (
    fmt,
    me,
    patient_with_photos,
    preview,
    records,
    reveal,
    session_label,
    view_label,
)
from analyzer.metrics import METRICS

st.title("Compare")
patient, views = patient_with_photos()
r = records()

view = st.selectbox("View", views, format_func=view_label, key="compare_view")
sessions = [s for s in r.sessions(me(), patient.id) if s.photo(view) is not None]
labels = {s.id: session_label(s) for s in sessions}
ids = [s.id for s in sessions]
c1, c2 = st.columns(2)
before_id = c1.selectbox("Before", ids, index=0, format_func=labels.get, key=f"before_{view}")
after_id = c2.selectbox("After", ids, index=len(ids) - 1, format_func=labels.get, key=f"after_{view}")
by_id = {s.id: s for s in sessions}
before, after = by_id[before_id].photo(view), by_id[after_id].photo(view)
baseline = sessions[0].photo(view)
outline = area_panel(patient, view, baseline, key=f"area_{view}")

if before.id == after.id:
    st.info("Choose two different visits to compare.")
    st.stop()


def _analysis_or_offer(photo):
    """The cached analysis, or None after offering to measure it now (never measured on page load)."""
    a = r.analysis(me(), photo.id)
    if a is None:
        st.warning("This photo has not been measured yet.")
        if st.button("Measure it now", key=f"measure_{photo.id}"):
            with st.spinner("Aligning and measuring…"):
                a = r.analyze(me(), photo.id)
    return a


def _in_baseline_frame(photo, analysis) -> np.ndarray | None:
    if photo.id == baseline.id:
        return preview(me(), photo.sha256)
    if analysis is None or analysis.aligned_sha256 is None:
        return None
    return preview(me(), analysis.aligned_sha256)


a_before = None if before.id == baseline.id else _analysis_or_offer(before)
a_after = None if after.id == baseline.id else _analysis_or_offer(after)
for photo, a in ((before, a_before), (after, a_after)):
    if a is not None and a.status != "measured":
        st.error(f"The {labels[photo.session_id]} photo is not compared: {a.message}. "
                 "It is shown as taken, not aligned.")

img_before = _in_baseline_frame(before, a_before)
img_after = _in_baseline_frame(after, a_after)
if img_before is None or img_after is None:
    c1, c2 = st.columns(2)
    c1.image(preview(me(), before.sha256), caption=f"{labels[before_id]} (as taken)", width="stretch")
    c2.image(preview(me(), after.sha256), caption=f"{labels[after_id]} (as taken)", width="stretch")
    st.stop()

scores = [a.result["alignment"]["score"] for a in (a_before, a_after) if a is not None]
st.caption(f"Both photos aligned on the baseline of {labels[baseline.session_id]} · registration score "
           f"{min(scores):.2f} (1 = perfect; below 0.25 photos are refused as different skin)")

left, right = st.columns([3, 2], gap="large")
with left:
    mode = st.segmented_control("Show", ["Slider", "Blink", "Side by side"], default="Slider",
                                key="compare_mode")
    if mode == "Side by side":
        c1, c2 = st.columns(2)
        c1.image(img_before, caption=f"Before · {labels[before_id]}", width="stretch")
        c2.image(img_after, caption=f"After · {labels[after_id]}", width="stretch")
    elif mode == "Blink":
        which = st.segmented_control("Photo", ["Before", "After"], default="After", key="blink")
        shown, label = (img_before, before_id) if which == "Before" else (img_after, after_id)
        st.image(shown, caption=f"{which} · {labels[label]}", width="stretch")
    else:
        split = st.slider("Before ◀ ▶ After", 0, 100, 50, key="reveal", format="%d%%")
        st.image(reveal(img_before, img_after, split), width="stretch",
                 caption=f"Left of the line: {labels[before_id]} · right: {labels[after_id]}")

with right:
    if a_after is not None and a_after.status == "measured":
        st.subheader("Where it changed since the baseline")
        tabs = st.tabs([FAMILIES[k].label.split(" (")[0] for k in ("redness", "pigmentation", "texture")])
        for tab, kind in zip(tabs, ("redness", "pigmentation", "texture"), strict=True):
            fam = FAMILIES[kind]
            with tab:
                if kind in a_after.images:
                    st.image(preview(me(), a_after.images[kind]), width="stretch",
                             caption=f"{labels[after_id]} vs the baseline, {fam.label.lower()}: red where it "
                                     f"rose, blue where it fell (from {fam.shown_from:g} {fam.unit}, full "
                                     f"colour at {fam.full:g}); dimmed: not compared.")

if a_after is not None and a_after.status == "measured":
    st.subheader("Measured change")
    from_baseline = before.id == baseline.id
    for note in a_after.result.get("notes", []):
        st.warning(note if from_baseline else f"{labels[after_id]}, against the baseline: {note}")
    if not from_baseline:  # each visit is read as its change from the baseline: what its photo says counts
        for note in a_before.result.get("notes", []):
            st.warning(f"{labels[before_id]}, against the baseline: {note}")
    if from_baseline:  # both photos over the skin both show
        values_before, values_after = a_after.result["before"], a_after.values
    else:  # as the progress chart shows them: each the baseline's reading plus its change from it
        shown = {p.photo_id: p.values for p in r.timeline(me(), patient.id, view).points}
        values_before, values_after = shown.get(before.id, {}), shown.get(after.id, {})
    # each visit is measured against the baseline: a step between two later visits is judged by their
    # limits and how their light differed from each other (charts.step_limit)
    read = [q for a in (a_before, a_after) if a is not None for q in a.result.get("jpeg_quality", [])]
    light = a_after.result.get("light", "camera")
    rows, unjudged = [], []
    for m in METRICS:
        after_value, before_value = values_after.get(m.key), values_before.get(m.key)
        change = None if after_value is None or before_value is None else after_value - before_value
        if math.isinf(limit_factor(m.key, read)):
            unjudged.append(m.label.lower())
        if from_baseline:
            beyond = bool(a_after.significant.get(m.key))
        else:  # None: not judged (a photo compressed too much, or analysed before limits were kept)
            limit = step_limit(m.key, light, a_before, a_after)
            beyond = None if change is None or math.isinf(limit) else abs(change) > limit
        rows.append({"Measure": m.label, "Unit": m.unit, "Before": fmt(m.key, before_value),
                     "After": fmt(m.key, after_value), "Change": fmt(m.key, change, signed=True),
                     "Beyond noise": beyond})
    st.dataframe(rows, hide_index=True, width="stretch", key="compare_changes")
    scale = "" if from_baseline else ("*Before* and *After*: the baseline's reading plus each visit's "
                                      "change from it, as on *Progress* (each visit is compared with the "
                                      "baseline). ")
    not_judged = (f" *Not judged*, a photo being compressed too much (see above): {', '.join(unjudged)}."
                  if unjudged else "")
    lit = any(a is not None and a.result.get("light_beyond") for a in (a_before, a_after))
    widened = (" The limits are wider here: a photo was lit more differently from the baseline than repeat "
               "photos are (see above)." if lit else "")
    st.caption(f"{area_caption(outline)} {scale}*Beyond noise*: larger than repeat photos of unchanged skin "
               f"differ (minimal detectable change, docs/metrics.md).{widened}{not_judged}")
