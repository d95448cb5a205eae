"""The measured area of a view: a practitioner outlines the treated skin on the baseline with the mouse
(Compare page; patients see it named under their charts).

Every visit of the view is then measured on the skin inside that outline (the baseline's
pixels, followed onto each later photo by the alignment) instead of over the
whole detected skin: :meth:`analyzer.records.Records.set_measured_area`.
"""

from __future__ import annotations

import cv2
import numpy as np
import plotly.graph_objects as go
import streamlit as st

from analyzer.dashboard.common import me, preview, records
from analyzer.records import PatientRecord, PhotoRecord, RecordError

__all__ = ["area_caption", "area_panel"]

_MAX_POINTS = 2000  # a traced outline with more points is simplified (the records take up to 5000)
_GRID_PX = 12  # preview px between the invisible points the lasso selects (plotly selects on points)
_OUTLINE = "#00e5ff"


def area_caption(outline: list | None) -> str:
    """How a view is measured, in words for the pages' captions."""
    if outline is None:
        return "Measured over the whole skin of the view that both photos show."
    return ("Measured on the skin inside the area outlined on the baseline (*Measured area* on the Compare "
            "page), wherever each photo shows it.")


def area_panel(patient: PatientRecord, view: str, baseline: PhotoRecord, *, key: str) -> list | None:
    """Show the area `view` is measured over, for the practitioner to change; returns its outline or None."""
    r = records()
    outline = r.measured_area(me(), patient.id, view)
    title = "Measured area: " + ("the outline drawn on the baseline" if outline else "the whole skin")
    with st.expander(title, expanded=False):
        image = preview(me(), baseline.sha256, 900)
        scale = baseline.width / image.shape[1]  # baseline px per preview px
        st.caption("To measure only the treated skin, draw around it on the baseline: hold the mouse "
                   "button down and trace the outline. Every visit of this view is then measured on "
                   "the skin inside it (eyes, lips, hair and clothes it takes in are left out); the "
                   "whole skin's figures are kept and come back if you choose it again.")
        event = st.plotly_chart(_figure(image, outline, scale), key=f"{key}_chart", on_select="rerun",
                                selection_mode="lasso", config={"displayModeBar": False, "scrollZoom": False})
        drawn = _lasso(event, scale, (baseline.width, baseline.height))
        c1, c2 = st.columns(2)
        if c1.button("Measure inside this outline", key=f"{key}_save", type="primary", disabled=drawn is None,
                     help=None if drawn else "Draw an outline on the photo first"):
            _change(patient, view, drawn, key, baseline.id)
        if c2.button("Measure the whole skin", key=f"{key}_clear", disabled=outline is None):
            _change(patient, view, None, key, None)  # the whole skin: whichever photo is the baseline
    return outline


def _figure(image: np.ndarray, outline: list | None, scale: float) -> go.Figure:
    h, w = image.shape[:2]
    fig = go.Figure(go.Image(z=image, hoverinfo="skip"))
    ys, xs = np.mgrid[0:h:_GRID_PX, 0:w:_GRID_PX]  # lasso selects points: invisible ones over the photo
    fig.add_trace(go.Scatter(x=xs.ravel(), y=ys.ravel(), mode="markers", hoverinfo="skip",
                             marker={"opacity": 0, "size": 2}, showlegend=False))
    if outline:
        xy = np.asarray(outline + outline[:1], np.float64) / scale
        fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="lines", hoverinfo="skip", showlegend=False,
                                 line={"color": _OUTLINE, "width": 3}))
    fig.update_layout(dragmode="lasso", height=min(620, round(h * 620 / max(h, w))),
                      margin={"l": 0, "r": 0, "t": 0, "b": 0}, newselection={"line": {"color": _OUTLINE}})
    fig.update_xaxes(visible=False, range=[0, w])
    fig.update_yaxes(visible=False, range=[h, 0], scaleanchor="x")
    return fig


def _lasso(event, scale: float, size: tuple[int, int]) -> list | None:
    """The outline last drawn, in baseline px (within its `size`, width and height), or None."""
    selection = getattr(event, "selection", None) or {}
    paths = selection.get("lasso") or []
    if not paths or len(paths[-1].get("x", ())) < 3:
        return None
    xy = np.column_stack([paths[-1]["x"], paths[-1]["y"]]).astype(np.float64)
    if len(xy) > _MAX_POINTS:  # a long, slow trace: within half a preview pixel of it
        xy = cv2.approxPolyDP(xy.astype(np.float32)[:, None], 0.5, True)[:, 0].astype(np.float64)
    return np.clip(xy * scale, 0, np.asarray(size, np.float64) - 1).tolist()


def _change(patient: PatientRecord, view: str, outline: list | None, key: str,
            baseline_id: int | None) -> None:
    """Keep the new area and measure the view's photos over it, with progress; then show the page again."""
    r = records()
    try:
        r.set_measured_area(me(), patient.id, view, outline, baseline_id=baseline_id)
    except RecordError as err:
        st.error(f"The area was not changed: {err}.")
        return
    photos = [s.photo(view) for s in r.sessions(me(), patient.id) if s.photo(view) is not None]
    bar = st.progress(0.0, text="Measuring…")
    for i, photo in enumerate(photos):
        bar.progress(i / len(photos), text=f"Measuring photo {i + 1} of {len(photos)} over the new area…")
        r.analyze(me(), photo.id)
    bar.empty()
    st.session_state.pop(f"{key}_chart", None)  # the drawn lasso is now the stored outline
    st.rerun()
