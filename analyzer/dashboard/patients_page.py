"""Patients: find one, add one, edit the chosen one (details, contraindications, consent), and invite
them to see their own progress (the patient portal)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from analyzer.dashboard.common import choose_patient, chosen_patient, invite_panel, me, records
from analyzer.records import PatientRecord, RecordError

ROMAN = ["I", "II", "III", "IV", "V", "VI"]

st.title("Patients")
r = records()

query = st.text_input("Search by name", key="patient_search", placeholder="Part of a name, any case")
found = r.find_patients(me(), query)
_SHOWN = 50  # a plain table draws at once; the search narrows longer lists


def _open_chosen() -> None:
    choose_patient(st.session_state.pop("open_patient"))


if found:
    st.table([{"Name": p.name, "Born": str(p.birth_year or ""), "Visits": p.sessions,
               "Last visit": p.last_visit.strftime("%Y-%m-%d") if p.last_visit else ""}
              for p in found[:_SHOWN]], hide_index=True)
    if len(found) > _SHOWN:
        st.caption(f"{len(found) - _SHOWN} more: type part of the name to narrow the list.")
    names = {p.id: p.name + (f" ({p.birth_year})" if p.birth_year else "") for p in found}
    st.selectbox("Open a patient", list(names), index=None, format_func=names.get, key="open_patient",
                 placeholder="Choose from the list", on_change=_open_chosen)
elif query:
    st.info(f"No patient's name contains “{query}”.")


def _patient_form(key: str, patient: PatientRecord | None) -> dict | None:
    """The patient's fields; returns them when the form is submitted."""
    # never cleared on submit: a refused form keeps what was typed; an added patient's closes the panel
    with st.form(key):
        name = st.text_input("Name", value=patient.name if patient else "")
        c1, c2 = st.columns(2)
        born = c1.date_input("Date of birth (if known)", value=patient.birth_date if patient else None,
                             min_value=dt.date(1900, 1, 1), max_value=dt.date.today(), format="YYYY-MM-DD")
        year = c2.number_input("or year of birth", min_value=1900, max_value=dt.date.today().year, step=1,
                               value=patient.birth_year if patient and not patient.birth_date else None)
        skin = st.selectbox("Fitzpatrick skin type", [None, *range(1, 7)],
                            index=patient.fitzpatrick if patient and patient.fitzpatrick else 0,
                            format_func=lambda v: "not recorded" if v is None else ROMAN[v - 1])
        contra = st.text_area("Contraindications and cautions",
                              value=patient.contraindications if patient else "",
                              placeholder="e.g. keloid tendency, active acne, recent isotretinoin")
        consent = st.checkbox("Consents to photography for treatment records",
                              value=patient.photo_consent if patient else False)
        if not st.form_submit_button("Save" if patient else "Add patient", type="primary"):
            return None
    return {"name": name, "birth_date": born, "birth_year": None if born else (int(year) if year else None),
            "fitzpatrick": skin, "contraindications": contra, "photo_consent": consent}


# Panels open on demand (a toggle, not an expander): a closed expander's form is still drawn,
# and drawing is most of this page's load time in the browser (bench/dashboard.py).
fields = None
if "show_add" not in st.session_state or st.session_state.pop("close_add", False):
    st.session_state["show_add"] = not found and not query  # open while there is nobody to list
if st.toggle("Add a patient", key="show_add"):
    fields = _patient_form("new_patient", None)
if fields is not None:
    try:
        patient = r.create_patient(me(), **fields)
    except RecordError as err:
        st.error(f"Not added: {err}.")
    else:
        choose_patient(patient.id)
        st.session_state["added_patient"] = patient.name
        st.session_state["close_add"] = True
        st.rerun()

if "added_patient" in st.session_state:
    st.success(f"Added {st.session_state.pop('added_patient')}.")

patient = chosen_patient(hint=False)
if patient is not None:
    st.subheader(f"{patient.name}")
    skin = ROMAN[patient.fitzpatrick - 1] if patient.fitzpatrick else "not recorded"
    consent = f"photo consent {patient.consent_date:%Y-%m-%d}" if patient.photo_consent else "NO consent"
    born = patient.birth_date or patient.birth_year or "unknown"
    details = [f"born {born}", f"Fitzpatrick {skin}", consent]
    st.caption(" · ".join(details))
    if patient.contraindications:
        st.warning(f"Contraindications: {patient.contraindications}")
    st.page_link("analyzer/dashboard/session_page.py", label="Record a session",
                 icon=":material/add_a_photo:")
    c1, c2 = st.columns(2)
    show_portal = c1.toggle("Patient's own access", key="show_portal")
    show_edit = c2.toggle("Edit details", key="show_edit")
    if show_portal:
        accounts = r.users(me(), patient_id=patient.id)
        if accounts:
            account = accounts[0]
            state = "disabled" if account.disabled else "active"
            last = f"{account.last_login_at:%d %b %Y}" if account.last_login_at else "never"
            st.markdown(f"{patient.name} has an account, **{account.username}** ({state}; "
                        f"last sign-in {last}). They see their own progress and nothing else. "
                        "A new invite sets a new password.")
            if st.button("Enable the account" if account.disabled else "Disable the account",
                         key="toggle_patient_account"):
                r.set_disabled(me(), account.id, not account.disabled)
                st.rerun()
        else:
            st.markdown(f"Invite {patient.name} to see their own progress: give them a one-time code. "
                        "They choose their username and password; the code then stops working.")
        invite_panel(f"patient_{patient.id}", lambda: r.invite(me(), patient_id=patient.id),
                     r.invites(me(), patient_id=patient.id), r)
    if show_edit:
        fields = _patient_form(f"edit_{patient.id}", patient)
        if fields is not None:
            try:
                r.update_patient(me(), patient.id, **fields)
            except RecordError as err:
                st.error(f"Not saved: {err}.")
            else:
                st.rerun()
