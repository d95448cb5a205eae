"""Photos: the demo patient's course, any session beside the baseline, view by view."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from analyzer.compare import NoSkin
from analyzer.dashboard.demo_data import aligned_view, demo_folder, load_demo_course, preview
from analyzer.images import InvalidImage


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_preview(path: str, mtime: float):
    # keyed by path and modification time: a rebuilt demo is re-read
    return preview(Path(path))


@st.cache_data(show_spinner=False, max_entries=32)
def _cached_aligned(baseline: str, baseline_mtime: float, later: str, later_mtime: float):
    # pure in its arguments (paths and modification times): safe to share between users
    return aligned_view(Path(baseline), Path(later))


def _show(folder: Path, name: str, caption: str) -> None:
    path = folder / name
    try:
        st.image(_cached_preview(str(path), path.stat().st_mtime), caption=caption,
                 width="stretch")
    except (FileNotFoundError, InvalidImage) as err:
        st.error(f"Cannot show {name}: {err}")


folder = demo_folder()
try:
    course = load_demo_course(folder)
except (FileNotFoundError, KeyError, ValueError) as err:
    st.title("Photos")
    st.error(f"The demo patient is missing or damaged in {folder} ({err}). "
             "Build it with `python sample_images/make_demo.py` (make run does this).")
    st.stop()

st.title(course.patient_name)
st.caption(f"DEMO · {course.notes} {course.device}; zones treated: {', '.join(course.zones_treated)}.")

labels = [v.label for v in course.visits]
with st.sidebar:
    chosen = st.selectbox("Session", labels, index=len(labels) - 1, key="visit")
    visit = course.visits[labels.index(chosen)]
    view = st.radio("View", list(course.views), key="view",
                    format_func=lambda v: v.replace("-", " ").capitalize())

baseline = course.visits[0]
left, right = st.columns(2)
with left:
    st.subheader("Baseline")
    _show(folder, baseline.photos[view], baseline.label)
with right:
    st.subheader("Selected")
    if view in visit.photos:
        _show(folder, visit.photos[view], visit.label)
    else:
        st.info(f"No {view.replace('-', ' ')} photo at this visit.")
st.caption("Photos as taken, upright.")

if view in visit.photos and visit is not baseline and st.toggle(
        "Align to the baseline and show the change", key="aligned"):
    base_path, later_path = folder / baseline.photos[view], folder / visit.photos[view]
    try:
        with st.spinner("Aligning to the baseline and measuring the skin…"):
            result = _cached_aligned(str(base_path), base_path.stat().st_mtime,
                                     str(later_path), later_path.stat().st_mtime)
    except (FileNotFoundError, InvalidImage, NoSkin) as err:
        st.error(f"Cannot compare: {err}")
    else:
        if result.ok:
            st.image(result.heatmap, width="stretch",
                     caption=f"Baseline | {visit.label}, aligned (registration score {result.score:.2f}); "
                             "colour change beyond what the eye just notices is shaded purple to yellow.")
            st.subheader("Measured change")
            st.dataframe(list(result.changes), hide_index=True, width="stretch", key="changes")
            st.caption("Whole skin of the view. *Beyond noise*: larger than repeat photos of unchanged "
                       "skin differ (minimal detectable change). What each measure means: docs/metrics.md.")
        else:
            st.warning(f"Not aligned: {result.reason}.")

st.subheader("Course")
st.dataframe(
    [
        {
            "Date": v.date.strftime("%Y-%m-%d %H:%M"),
            "Session": v.session,
            "Visit": v.kind,
            "Needle depth (mm)": v.needle_depth_mm,
            "Photos": ", ".join(v.photos),
        }
        for v in course.visits
    ],
    hide_index=True,
    width="stretch",
)
