"""The patient's own view: their progress in plain words, their photos before and after, a few charts.

The only page a signed-in patient has (app.py); every read names them, so the
records refuse anything that is not their own.
"""

from __future__ import annotations

import io

import streamlit as st

from analyzer.dashboard.charts import metric_chart, plain_summary
from analyzer.dashboard.common import me, preview, records, reveal, view_label
from analyzer.records import export_patient

r = records()
patient = r.patient(me(), me().patient_id)

st.title(f"Your skin progress, {patient.name.split()[0]}")
views = r.views(me(), patient.id)
if not views:
    st.info("Your photos will appear here after your first visit.")
    st.stop()
view = views[0] if len(views) == 1 else st.selectbox(
    "Photos of", views, index=views.index("front") if "front" in views else 0, format_func=view_label,
    key="patient_view")
timeline = r.timeline(me(), patient.id, view)
for line in plain_summary(timeline):
    st.markdown(f"- {line}")

first = next(p for p in timeline.points if p.photo_id == timeline.baseline_id)
later = [p for p in timeline.points if p.status == "measured" and p.photo_id != timeline.baseline_id]
if later:
    latest = later[-1]
    analysis = r.analysis(me(), latest.photo_id)
    before = preview(me(), r.photo(me(), timeline.baseline_id).sha256)
    after = preview(me(), analysis.aligned_sha256)
    split = st.slider("First visit ◀ ▶ latest visit", 0, 100, 50, key="patient_reveal", format="%d%%")
    st.image(reveal(before, after, split), width="stretch",
             caption=f"Left: {first.session.started_at:%d %b %Y} · "
                     f"right: {latest.session.started_at:%d %b %Y}")
else:
    st.image(preview(me(), r.photo(me(), timeline.baseline_id).sha256), width="stretch",
             caption="Your first visit")

for key in ("redness.erythema_index", "pigmentation.spot_count", "texture.roughness"):
    st.plotly_chart(metric_chart(timeline, key, height=300), key=f"patient_{key}", width="stretch")
treated_only = " Measured on the treated skin your practitioner outlined." if r.measured_area(
    me(), patient.id, view) is not None else ""
st.caption("Red points: a change from your first visit larger than repeat photos of unchanged skin show; "
           f"grey: within that noise. ▲ treatment days.{treated_only}")

st.subheader("Your record")
st.caption("Everything the clinic recorded about you: details, visits, photos (without location or camera "
           "data) and measurements, as a ZIP.")
if st.button("Prepare my record", key="patient_zip"):
    buf = io.BytesIO()
    with st.spinner("Packing your photos and measurements…"):
        export_patient(r, me(), patient.id, buf)
    st.session_state["patient_record_zip"] = buf.getvalue()
if "patient_record_zip" in st.session_state:
    st.download_button("Download my record", st.session_state["patient_record_zip"],
                       file_name="my-record.zip", mime="application/zip", key="patient_zip_download")
