"""The audit log (admin only): who viewed, uploaded, changed, exported or erased what, and when."""

from __future__ import annotations

import streamlit as st

from analyzer.dashboard.common import me, records

ACTIONS = {
    "view": "opened a record", "create_patient": "added a patient", "update_patient": "edited a patient",
    "add_session": "recorded a session", "add_photos": "added photos", "export": "exported the record",
    "report": "made the PDF report", "erase": "erased a patient", "denied": "was refused access",
    "sign_in": "signed in", "sign_in_failed": "failed to sign in", "sign_out": "signed out",
    "invite": "made an invite", "revoke_invite": "revoked an invite", "redeem_invite": "used an invite",
    "invite_refused": "tried an invalid invite", "disable_user": "disabled an account",
    "enable_user": "enabled an account", "change_password": "changed their password",
    "set_up": "set up the clinic", "create_clinic": "created the clinic",
}

st.title("Audit log")
r = records()
names = {p.id: p.name for p in r.find_patients(me(), limit=100_000)}
c1, c2 = st.columns(2)
action = c1.selectbox("What", [None, *ACTIONS], key="audit_action",
                      format_func=lambda a: "everything" if a is None else ACTIONS[a])
patient = c2.selectbox("Whose record", [None, *names], key="audit_patient",
                       format_func=lambda i: "every patient" if i is None else names[i])
events = r.audit(me(), patient_id=patient, action=action, limit=500)


def _whose(patient_id: int | None) -> str:
    if patient_id is None:
        return ""
    return names.get(patient_id, f"patient {patient_id} (erased)")


def _detail(detail: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in detail.items() if k not in ("by",))


st.dataframe([{"When (UTC)": f"{e.at:%Y-%m-%d %H:%M:%S}", "Who": e.who,
               "Did": ACTIONS.get(e.action, e.action), "Record": _whose(e.patient_id),
               "Details": _detail(e.detail)} for e in events],
             hide_index=True, width="stretch")
st.caption(f"The latest {len(events)} events, newest first. Opening a record is logged once per user and "
           "patient every 10 minutes. The log keeps erasures after the record is gone.")
