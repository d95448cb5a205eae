"""Report: the patient's PDF, the measurements as CSV, and their whole record as a ZIP."""

from __future__ import annotations

import io

import streamlit as st

from analyzer.dashboard.charts import plain_summary
from analyzer.dashboard.common import chosen_patient, me, records, view_label
from analyzer.records import export_patient, metrics_csv, name_slug
from analyzer.records.analysis import version
from analyzer.report import patient_report


def _made_of(patient_id: int, view: str, timeline, outline) -> tuple:
    """What a PDF was made of: the patient, the view, its outline, the algorithm, each visit's photo
    and its state (a new visit, outline or release makes the PDF stale)."""
    area = None if outline is None else tuple(map(tuple, outline))
    return patient_id, view, area, version(), tuple((p.photo_id, p.status) for p in timeline.points)


st.title("Report")
patient = chosen_patient()
if patient is None:
    st.stop()
r = records()
slug = name_slug(patient.name)
views = r.views(me(), patient.id)

st.subheader("For the patient (PDF)")
if not views:
    st.info(f"No photos of {patient.name} yet.")
else:
    view = st.selectbox("Photos and charts of", views, format_func=view_label, key="report_view")
    timeline = r.timeline(me(), patient.id, view)
    outline = r.measured_area(me(), patient.id, view)
    lines = plain_summary(timeline)
    for line in lines:
        st.markdown(f"- {line}")
    if st.button("Make the PDF", key="make_pdf"):
        latest = next((p for p in reversed(timeline.points)
                       if p.status == "measured" and p.photo_id != timeline.baseline_id), None)
        first = r.image(me(), r.photo(me(), timeline.baseline_id).sha256)
        aligned = None
        if latest is not None:
            sha = r.analysis(me(), latest.photo_id).aligned_sha256
            aligned = r.image(me(), sha) if sha else None
        with st.spinner("Drawing the report…"):
            pdf = patient_report(patient, timeline, first, aligned, lines, version=version(),
                                 outlined=outline is not None)
        r.log(me(), "report", patient.id, view=view)
        st.session_state["report_pdf"] = (_made_of(patient.id, view, timeline, outline), pdf)
    made = st.session_state.get("report_pdf")
    if made and made[0] == _made_of(patient.id, view, timeline, outline):  # this view, as it is now
        st.download_button("Download the PDF", made[1], file_name=f"skin-progress-{slug}.pdf",
                           mime="application/pdf", key="download_pdf", type="primary")

st.subheader("Measurements (CSV)")
st.download_button("Download the measurements", metrics_csv(r, me(), patient.id),
                   file_name=f"metrics-{slug}.csv", mime="text/csv", key="download_csv")
st.caption("One row per visit, view, zone and measure: value, change since the first visit, "
           "beyond noise or not.")

st.subheader("The whole record (right of access)")
if st.button("Prepare the ZIP", key="make_zip"):
    buf = io.BytesIO()
    with st.spinner("Packing photos and measurements…"):
        export_patient(r, me(), patient.id, buf)
    st.session_state["record_zip"] = (patient.id, buf.getvalue())
made = st.session_state.get("record_zip")
if made and made[0] == patient.id:
    st.download_button("Download the record", made[1], file_name=f"record-{slug}.zip", mime="application/zip",
                       key="download_zip")
st.caption("Everything recorded about the patient: details, visits, photos (without metadata), measurements.")
