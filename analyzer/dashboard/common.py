"""What every page shares: the records, who is signed in, the chosen patient, images, numbers in words.

Pages never compute metrics: they read cached analyses from the records and
only ask for new ones when a practitioner saves photos. Every records call
names the signed-in user (:func:`me`); the records refuse what they may not see.
"""

from __future__ import annotations

import math
import re
from urllib.parse import urlsplit

import cv2
import numpy as np
import streamlit as st

from analyzer.metrics import info
from analyzer.records import Actor, PatientRecord, Records, SessionRecord

VIEW_LABELS = {"front": "Front", "left": "Left side", "right": "Right side"}


@st.cache_resource(show_spinner=False)
def records() -> Records:
    """The clinic's records (ANALYZER_DATA_DIR, ANALYZER_DATABASE_URL), opened once per server."""
    return Records.open()


def me() -> Actor:
    """The signed-in user (app.py lets no page run without one)."""
    return st.session_state["actor"]


@st.cache_data(show_spinner=False, max_entries=256)
def preview(actor: Actor, sha: str, max_side: int = 1100) -> np.ndarray:
    """A stored image (content-addressed: never changes) at most ``max_side`` px, RGB uint8.

    Cached per signed-in user (``actor`` is part of the key), so one user's
    cache entry never serves another; the records check the first access.
    """
    image = records().image(actor, sha)
    scale = max_side / max(image.shape[:2])
    if scale >= 1.0:
        return image
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def view_label(view: str) -> str:
    if view.startswith("close-up: "):
        return "Close-up: " + view.removeprefix("close-up: ")
    return VIEW_LABELS.get(view, view)


def session_label(s: SessionRecord) -> str:
    when = s.started_at.strftime("%d %b %Y")
    depth = f" · {s.needle_depth_mm:g} mm" if s.needle_depth_mm else ""
    return f"{when} · {s.treatment}{depth}"


def fmt(key: str, value: float | None, *, signed: bool = False) -> str:
    """A metric's value in its units and decimals; an em dash when not measured."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    meta = info(key)
    if round(value, meta.decimals) == 0:  # "0.0" for a change that rounds away, never "-0.0" or "+0.0"
        return f"{0.0:.{meta.decimals}f}"
    return f"{value:{'+' if signed else ''}.{meta.decimals}f}"


_CHOSEN = "chosen_patient"  # the patient's id; the sidebar widget's own key does not outlive a page


def choose_patient(patient_id: int) -> None:
    """Make `patient_id` the chosen patient, on this page and every page after (any time in a run)."""
    st.session_state[_CHOSEN] = patient_id


def _remember_choice() -> None:  # the widget's callback: runs before the page, with the new value
    st.session_state[_CHOSEN] = st.session_state["patient_id"]


def chosen_patient(*, hint: bool = True) -> PatientRecord | None:
    """The patient picked in the sidebar (kept across pages), or None (with a hint on the page).

    A widget's state is dropped when a page without it runs -- and each page's sidebar widget is
    its own -- so the choice is kept under a key of its own and the widget seeded from it on
    every page: kept in the widget alone, it fell back to the list's first patient on the next
    page, where a practitioner would then have saved the visit.
    """
    r = records()
    everyone = r.find_patients(me(), limit=10_000)
    if not everyone:
        if hint:
            st.info("No patients yet: add one on the **Patients** page.")
        return None
    ids = [p.id for p in everyone]
    chosen = st.session_state.get(_CHOSEN, st.session_state.get("patient_id"))
    if chosen not in ids:
        chosen = ids[0]
    st.session_state[_CHOSEN] = st.session_state["patient_id"] = chosen  # before the widget
    names = {p.id: p.name + (f" ({p.birth_year})" if p.birth_year else "") for p in everyone}
    with st.sidebar:
        picked = st.selectbox("Patient", ids, format_func=names.get, key="patient_id",
                              on_change=_remember_choice)
    return r.patient(me(), picked)


def reveal(before: np.ndarray, after: np.ndarray, split_pct: int) -> np.ndarray:
    """Before left of a white line at ``split_pct`` % of the width, after right of it (same frame, RGB)."""
    h, w = min(before.shape[0], after.shape[0]), min(before.shape[1], after.shape[1])
    x = round(w * split_pct / 100)
    composite = np.concatenate([before[:h, :x], after[:h, x:w]], axis=1)
    if 0 < x < w:
        composite[:, max(0, x - 2):x + 2] = 255
    return composite


def patient_with_photos() -> tuple[PatientRecord, list[str]]:
    """The chosen patient and the views they have photos of; stops the page, with a hint, if none."""
    patient = chosen_patient()
    if patient is None:
        st.stop()
    views = records().views(me(), patient.id)
    if not views:
        st.info(f"No photos of {patient.name} yet: add them on the **New session** page.")
        st.stop()
    return patient, views


def invite_panel(key: str, make, invites, r: Records) -> None:
    """Make an invite (``make()`` returns an :class:`~analyzer.records.Invitation`), show its code once,
    and list the pending ones with a button to revoke each."""
    if st.button("Create an invite code", key=f"invite_{key}"):
        st.session_state[f"new_invite_{key}"] = make()
        st.rerun()
    made = st.session_state.pop(f"new_invite_{key}", None)
    if made is not None:
        link = f"{_app_root()}?invite={made.code}"
        st.success(f"Invite code (shown only now, valid until {made.invite.expires_at:%d %b %Y %H:%M} UTC, "
                   "usable once):")
        st.code(made.code, language=None)
        st.caption("Or send this link, which fills the code in:")
        st.code(link, language=None)
    pending = [i for i in invites if i.status == "pending"]
    for invite in pending:
        c1, c2 = st.columns([3, 1], vertical_alignment="center")
        c1.caption(f"Pending {invite.role} invite made {invite.created_at:%d %b %Y %H:%M} UTC, "
                   f"expires {invite.expires_at:%d %b %Y}")
        if c2.button("Revoke", key=f"revoke_{key}_{invite.id}"):
            r.revoke_invite(me(), invite.id)
            st.rerun()


def _app_root() -> str:
    """The dashboard's address (where the sign-in page is), from the browser's, e.g. ``https://host/``."""
    parts = urlsplit(st.context.url or "")
    prefix = str(st.get_option("server.baseUrlPath") or "").strip("/")
    root = f"/{prefix}/" if prefix else "/"
    return f"{parts.scheme}://{parts.netloc}{root}" if parts.netloc else root


# the words of names phones, cameras and messaging apps give photos, which say nothing of the view:
# IMG_1234, IMG_E1234 (edited), PXL_20261207_101522, DSCN0042, 20261207_101522 (Samsung),
# WhatsApp Image 2026-12-07 at 10.15.22 AM, IMG-20261207-WA0003 (WhatsApp on Android),
# photo_2026-12-07_10-15-22 (Telegram), signal-2026-12-07-101522, "... copy"
_CAMERA_WORDS = frozenset({"img", "e", "pxl", "mvimg", "dsc", "dscf", "dscn", "dcim", "photo", "image",
                           "picture", "snapshot", "whatsapp", "wa", "at", "am", "pm", "telegram", "signal",
                           "copy"})


def guess_view(name: str) -> str:
    """The view a file's name suggests: front for a camera's own name, else a view or close-up it names.

    "session1_left-cheek.jpg" is the close-up "left cheek"; "IMG_1234 left cheek.jpg" too (the
    camera's words are dropped); "Щека.jpg" the close-up "щека" (any script's letters).
    """
    stem = re.sub(r"\.[a-z0-9]+$", "", name.lower())
    words = re.findall(r"[^\W\d_]+", stem)  # letters of any script
    if set(words) <= _CAMERA_WORDS:  # digits alone too (Samsung's 20261207_101522)
        return "front"  # the usual photo: the practitioner changes it for a close-up
    for view in ("front", "left", "right"):
        if view in words and "cheek" not in words:
            return view
    words = [w for w in words if w not in _CAMERA_WORDS and w not in ("session", "visit")] or ["close-up"]
    return f"close-up: {' '.join(words)[:40]}"
