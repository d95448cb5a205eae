"""The patient's own view: their progress in plain words, their photos before and after, a few charts.

Reached only through their link (``?patient=<token>``); shows this patient and nothing else,
and the session stays on this page.
"""

from __future__ import annotations

import streamlit as st

from analyzer.dashboard.charts import metric_chart, plain_summary
from analyzer.dashboard.common import preview, records, reveal
from analyzer.records import NotFound

r = records()
patient_id = st.session_state.get("viewer_patient")
try:
    patient = r.patient(patient_id)
except NotFound:
    st.error("This link no longer opens a record. Ask your clinic for a new one.")
    st.stop()

st.title(f"Your skin progress, {patient.name.split()[0]}")
views = r.views(patient.id)
if "front" not in views:
    st.info("Your photos will appear here after your first visit.")
    st.stop()
timeline = r.timeline(patient.id, "front")
for line in plain_summary(timeline):
    st.markdown(f"- {line}")

first = next(p for p in timeline.points if p.photo_id == timeline.baseline_id)
later = [p for p in timeline.points if p.status == "measured" and p.photo_id != timeline.baseline_id]
if later:
    latest = later[-1]
    analysis = r.analysis(latest.photo_id)
    before = preview(r.photo(timeline.baseline_id).sha256)
    after = preview(analysis.aligned_sha256)
    split = st.slider("First visit ◀ ▶ latest visit", 0, 100, 50, key="patient_reveal", format="%d%%")
    st.image(reveal(before, after, split), width="stretch",
             caption=f"Left: {first.session.started_at:%d %b %Y} · "
                     f"right: {latest.session.started_at:%d %b %Y}")
else:
    st.image(preview(r.photo(timeline.baseline_id).sha256), width="stretch", caption="Your first visit")

for key in ("redness.erythema_index", "pigmentation.spot_count", "texture.roughness"):
    st.plotly_chart(metric_chart(timeline, key, height=300), key=f"patient_{key}", width="stretch")
st.caption("Red points: a change from your first visit larger than repeat photos of unchanged skin show; "
           "grey: within that noise. ▲ treatment days.")
