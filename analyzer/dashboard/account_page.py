"""The signed-in user's account: change the password."""

from __future__ import annotations

import streamlit as st

from analyzer.dashboard.common import me, records
from analyzer.records import RecordError

st.title("My account")
st.caption(f"Signed in as **{me().username}**.")
with st.form("password", clear_on_submit=True):
    old = st.text_input("Current password", type="password", autocomplete="current-password")
    new = st.text_input("New password (at least 10 characters)", type="password", autocomplete="new-password")
    again = st.text_input("The new password again", type="password", autocomplete="new-password")
    if st.form_submit_button("Change password", type="primary"):
        if new != again:
            st.error("The two new passwords differ.")
        else:
            try:
                records().change_password(me(), old, new)
            except RecordError as err:
                st.error(f"Not changed: {err}.")
            else:
                st.success("Password changed. Your other signed-in sessions were signed out.")
