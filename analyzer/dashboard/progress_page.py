"""Progress: each measure across visits, per face zone, with treatments marked and noise judged."""

from __future__ import annotations

import streamlit as st

from analyzer.dashboard.area import area_caption
from analyzer.dashboard.charts import change_rows, metric_chart, recovery, recovery_chart
from analyzer.dashboard.common import fmt, me, patient_with_photos, records, view_label
from analyzer.metrics import METRICS
from analyzer.skin import ZONES

st.title("Progress")
patient, views = patient_with_photos()
r = records()

c1, c2, c3 = st.columns(3)
view = c1.selectbox("View", views, format_func=view_label, key="progress_view")
labels = {m.key: m.label for m in METRICS}
metric = c2.selectbox("Measure", list(labels), format_func=labels.get, key="progress_metric")
zone = c3.selectbox("Zone", ["whole skin", *ZONES], key="progress_zone",
                    format_func=lambda z: z.replace("_", " ").capitalize())
key = metric if zone == "whole skin" else f"zone.{zone}.{metric}"

timeline = r.timeline(me(), patient.id, view)
pending = [p for p in timeline.points if p.status == "pending"]
if pending:
    st.warning(f"{len(pending)} photo(s) of this view are not measured yet.")
    if st.button(f"Measure {len(pending)} photo(s) now", key="measure_pending"):
        bar = st.progress(0.0, text="Measuring…")
        for i, p in enumerate(pending):
            bar.progress(i / len(pending), text=f"Measuring the photo of {p.session.started_at:%d %b %Y}…")
            r.analyze(me(), p.photo_id)
        bar.empty()
        st.rerun()
for p in timeline.points:
    if p.status in ("refused", "no_skin"):
        st.error(f"The photo of {p.session.started_at:%d %b %Y} is left out: {p.message}.")

outline = r.measured_area(me(), patient.id, view)
if not any(p.values.get(key) is not None for p in timeline.points):
    if outline is not None and zone != "whole skin":
        st.info("This view is measured inside the area outlined on its baseline, which has no face zones: "
                "choose *Whole skin* (or measure the whole skin again on the Compare page).")
    else:
        st.info("Nothing measured for this measure and zone yet (a zone is measured only in front views).")
    st.stop()

st.plotly_chart(metric_chart(timeline, key), key="progress_chart", width="stretch")
st.caption("◆ baseline · ● red: change from the baseline beyond measurement noise · ● grey: within noise · "
           f"▲ treatment (needle depth on hover). {area_caption(outline)}")
# shown as the Compare page shows them: each measure's own decimals, signed changes, a dash for none
shown = [{**row, labels[metric]: fmt(key, row[labels[metric]]),
          "vs baseline": fmt(key, row["vs baseline"], signed=True),
          "vs previous": fmt(key, row["vs previous"], signed=True)} for row in change_rows(timeline, key)]
st.dataframe(shown, hide_index=True, width="stretch", key="progress_table")

rec = recovery(timeline)
if rec is not None:
    st.subheader("Recovery of redness after treatment")
    st.plotly_chart(recovery_chart(rec), key="recovery_chart", width="stretch")
    if rec.fading is None:
        st.caption("Not enough fading redness beyond noise to fit a curve.")
    else:
        st.caption(f"Extra redness halves every {rec.fading.half_life_hours:.0f} hours "
                   f"(exponential fit to {rec.fading.points} photos).")
