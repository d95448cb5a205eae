"""New session: the visit's details and its photos, checked as they arrive, then saved and measured."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from analyzer.dashboard.common import chosen_patient, guess_view, me, records, view_label
from analyzer.records import PhotoRefused, PhotoUpload, RecordError

TREATMENTS = ["microneedling", "RF microneedling", "follow-up photos", "review"]
ZONES = ["forehead", "cheeks", "nose", "chin", "perioral", "neck", "décolleté", "acne scars"]
GLOGAU = {None: "not graded", 1: "I (no wrinkles)", 2: "II (wrinkles in motion)", 3: "III (wrinkles at rest)",
          4: "IV (only wrinkles)"}
GOODMAN_BARON = {None: "not graded", 1: "1 (macular)", 2: "2 (mild)", 3: "3 (moderate)", 4: "4 (severe)"}

st.title("New session")
patient = chosen_patient()
if patient is None:
    st.stop()
r = records()


def _blank_form() -> None:
    """Drop the visit's details, views, close-up names and checked photos: the next form starts blank."""
    for key in [k for k in st.session_state if k.startswith(("s_", "view_", "name_", "known_"))]:
        del st.session_state[key]
    st.session_state["checked_photos"] = {}
    st.session_state["refused_photos"] = {}


if st.session_state.get("session_form_for") != patient.id:  # another patient chosen: a blank visit
    _blank_form()  # notes, device, depth, the uploader's photos were the last patient's
    st.session_state["session_form_for"] = patient.id
st.caption(f"For **{patient.name}**" + (f" · contraindications: {patient.contraindications}"
                                         if patient.contraindications else ""))
if not patient.photo_consent:
    st.warning(f"{patient.name} has not consented to photography: record the consent on the Patients page "
               "before adding photos. A session without photos can still be recorded.")

c1, c2, c3 = st.columns(3)
day = c1.date_input("Date", value=dt.date.today(), format="YYYY-MM-DD", key="s_date")
time_of_day = c2.time_input("Time", value=dt.time(dt.datetime.now().hour, 0), key="s_time")
treatment = c3.selectbox("Treatment", TREATMENTS, key="s_treatment")
c1, c2 = st.columns(2)
device = c1.text_input("Device", key="s_device", placeholder="e.g. Dermapen 4")
depth = c2.number_input("Needle depth (mm)", min_value=0.0, max_value=4.0, step=0.25, value=None,
                        key="s_depth", help="Leave empty for visits without needling")
zones = st.multiselect("Zones treated", ZONES, key="s_zones", accept_new_options=True)
products = st.text_input("Serums and numbing used", key="s_products", placeholder="comma-separated")
notes = st.text_area("Notes", key="s_notes")
c1, c2 = st.columns(2)
glogau = c1.selectbox("Glogau photo-ageing type", list(GLOGAU), format_func=GLOGAU.get, key="s_glogau")
goodman = c2.selectbox("Goodman-Baron acne-scar grade", list(GOODMAN_BARON), format_func=GOODMAN_BARON.get,
                       key="s_goodman")

st.subheader("Photos")
uploads = st.file_uploader(
    "Drop the session's photos here (several at once: JPEG, PNG, HEIC, TIFF, WebP)",
    type=["jpg", "jpeg", "png", "heic", "heif", "tif", "tiff", "webp"], accept_multiple_files=True,
    key=f"s_photos_{st.session_state.get('upload_round', 0)}", disabled=not patient.photo_consent,
    help="For close-ups, keep the same plain backdrop (a wall, a towel) in view beside the skin at "
         "every visit, or hold a 24-patch colour checker there: the light is read from them, so a "
         "close-up's colour repeats as a front view's does. Skin and hair alone is measured as the "
         "camera saw it, and its colour is much noisier.")


VIEW_CHOICES = ["front", "left", "right", "close-up"]
known_close_ups = [v.removeprefix("close-up: ") for v in r.views(me(), patient.id)
                   if v.startswith("close-up: ")]
checked: dict[tuple, object] = st.session_state.setdefault("checked_photos", {})  # this patient's
refused: dict[str, PhotoRefused] = st.session_state.setdefault("refused_photos", {})  # not a photo: by file


def _check(upload, view: str) -> None:
    """Decode and check `upload` as `view` once (cached); a file that is no photo is refused in any view."""
    if (upload.file_id, view) in checked or upload.file_id in refused:
        return
    try:
        with st.spinner(f"Checking {upload.name}…"):
            checked[(upload.file_id, view)] = r.prepare_photo(
                me(), patient.id, PhotoUpload(upload.getvalue(), view, upload.name))
    except PhotoRefused as err:
        refused[upload.file_id] = err
    except RecordError as err:  # the view: the practitioner can choose another
        checked[(upload.file_id, view)] = err


ready, current, still_refused = [], set(), set()
for upload in uploads or []:
    guess = guess_view(upload.name)
    if not any(key[0] == upload.file_id for key in checked):  # new: a file that is no photo has no view
        _check(upload, guess)
    if upload.file_id in refused:
        st.error(f"Will not be saved: {refused[upload.file_id]}")
        still_refused.add(upload.file_id)
        continue
    col_img, col_info = st.columns([1, 2])
    with col_info:
        kind = st.selectbox(f"View of {upload.name}", VIEW_CHOICES, key=f"view_{upload.file_id}",
                            index=VIEW_CHOICES.index(guess.split(":")[0]))
        view = kind
        if kind == "close-up":
            default = guess.removeprefix("close-up: ") if guess.startswith("close-up") else ""
            if known_close_ups:  # the names earlier visits used: the same name compares with them
                other = "another area…"
                options = [*known_close_ups, other]
                first = options.index(default) if default in options else len(options) - 1 if default else 0
                picked = st.selectbox("Close-up of", options, key=f"known_{upload.file_id}", index=first)
                name = picked if picked != other else st.text_input(
                    "Name of the new area", value=default, key=f"name_{upload.file_id}",
                    placeholder="e.g. scar on chin")
            else:
                name = st.text_input("Close-up of", value=default, key=f"name_{upload.file_id}",
                                     placeholder="e.g. left cheek, scar on chin")
            view = f"close-up: {name.strip().lower() or 'unnamed'}"
        cache_key = (upload.file_id, view)
        current.add(cache_key)
        _check(upload, view)
        result = checked[cache_key]
        if isinstance(result, RecordError):
            st.error(f"Will not be saved: {result}")
            continue
        if result.already:
            when, seen_as = result.already[0]
            st.warning(f"This is the same photo as the {view_label(seen_as).lower()} photo of "
                       f"{when:%d %b %Y}, already in the record: measured against it, it would show no "
                       "change. Choose the photo taken at this visit.")
        elif result.quality.ok:
            st.success(f"{view_label(view)}: good photo ({result.width} × {result.height}).")
        for issue in result.quality.issues:
            st.warning(issue.message)
        ready.append(result)
    with col_img:
        st.image(result.thumbnail, width="stretch")

for gone in [f for f in refused if f not in still_refused]:
    del refused[gone]
for stale in [k for k in checked if k not in current]:  # taken out, or its view changed: free its PNG
    del checked[stale]
views = [p.view for p in ready]
doubled = sorted({v for v in views if views.count(v) > 1})
if doubled:
    st.error(f"Two photos are marked {view_label(doubled[0])}: choose another view for one of them.")
same = [p for p in ready if [q.sha256 for q in ready].count(p.sha256) > 1]
if same:  # one file dropped twice, or a copy of it: one of them is not this visit's photo of its view
    st.error(f"{same[0].label} and {same[1].label} are the same photo: take one of them out.")

if st.button("Save session", type="primary", disabled=bool(doubled or same), key="save_session"):
    started = dt.datetime.combine(day, time_of_day)
    if any(s.started_at == started for s in r.sessions(me(), patient.id)):  # Save pressed again, say
        st.error(f"Not saved: {patient.name} already has a visit on {started:%d %b %Y} at {started:%H:%M}. "
                 "To record another visit, change its date or time.")
        st.stop()
    try:
        session = r.add_session(
            me(), patient.id, started_at=started, treatment=treatment, device=device,
            needle_depth_mm=depth or None, zones=zones,
            products=[p.strip() for p in products.split(",") if p.strip()], notes=notes, glogau=glogau,
            goodman_baron=goodman, photos=ready)
    except RecordError as err:
        st.error(f"Nothing was saved: {err}.")
        st.stop()
    except OSError as err:
        st.error(f"Nothing was saved: the photo store could not be written ({err.strerror}). "
                 "Check the disk and try again.")
        st.stop()
    bar = st.progress(0.0, text="Measuring the photos against the baseline…")
    outcome = []
    for k, photo in enumerate(session.photos):
        bar.progress(k / len(session.photos), text=f"Measuring the {view_label(photo.view)} photo…")
        try:
            a = r.analyze(me(), photo.id)
            if a.status == "measured":
                outcome.append(f"{view_label(photo.view)}: measured.")
            else:
                outcome.append(f"{view_label(photo.view)}: not measured — {a.message}.")
        except Exception as err:  # noqa: BLE001 -- the visit is saved; say what could not be measured
            outcome.append(f"{view_label(photo.view)}: could not be measured ({type(err).__name__}); "
                           "run `python -m analyzer reanalyze` later.")
    bar.empty()
    st.session_state["saved_message"] = (f"Saved the session of {started:%d %b %Y %H:%M} with "
                                         f"{len(session.photos)} photo(s). " + " ".join(outcome))
    st.session_state["upload_round"] = st.session_state.get("upload_round", 0) + 1
    _blank_form()  # for the next visit: this one's details are saved
    st.rerun()

if "saved_message" in st.session_state:
    st.success(st.session_state.pop("saved_message"))
    st.page_link("analyzer/dashboard/compare_page.py", label="Compare with the baseline",
                 icon=":material/compare:")
    st.page_link("analyzer/dashboard/progress_page.py", label="See the progress charts",
                 icon=":material/monitoring:")
