"""The clinic's team (admin only): accounts, invites for practitioners, disabling an account."""

from __future__ import annotations

import streamlit as st

from analyzer.dashboard.common import invite_panel, me, records
from analyzer.records import RecordError

st.title("Team")
r = records()
users = r.users(me())
ROLE = {"admin": "Admin", "practitioner": "Practitioner", "patient": "Patient"}

st.table([{"Username": u.username, "Role": ROLE[u.role], "Status": "disabled" if u.disabled else "active",
           "Last sign-in": f"{u.last_login_at:%Y-%m-%d %H:%M} UTC" if u.last_login_at else "never"}
          for u in users], hide_index=True)

staff = {u.id: u for u in users if u.role != "patient" and u.id != me().user_id}
if staff:
    with st.form("disable"):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        chosen = c1.selectbox("Disable or enable an account", list(staff),
                              format_func=lambda i: f"{staff[i].username} ({ROLE[staff[i].role]})")
        if c2.form_submit_button("Disable / enable"):
            try:
                r.set_disabled(me(), chosen, not staff[chosen].disabled)
            except RecordError as err:
                st.error(str(err))
            else:
                st.rerun()
    st.caption("A disabled account is signed out at once and cannot sign in; its records stay.")

st.subheader("Invite a practitioner")
role = st.radio("Role", ["practitioner", "admin"], format_func=ROLE.get, horizontal=True, key="team_role",
                help="Admins also manage the team, see the audit log and can erase records.")
invite_panel("team", lambda: r.invite(me(), role=role), r.invites(me()), r)
