"""Sign in; use an invite code (a new account, or a new password); set up a new clinic's admin.

The only page anyone reaches before signing in. Success puts the signed-in
:class:`~analyzer.records.Actor` in this browser session's state; app.py then
shows the pages that user may open. On a fresh install (no account at all) it
asks for the clinic's admin first.
"""

from __future__ import annotations

import streamlit as st

from analyzer.dashboard.common import records
from analyzer.records import RecordError
from analyzer.records.demo import DEMO_ACCOUNTS, DEMO_CLINIC, DEMO_PASSWORD

r = records()


def _signed_in(actor) -> None:
    st.session_state.clear()  # nothing of a previous user stays in this browser session
    st.session_state["actor"] = actor
    st.rerun()


def _new_password(label: str) -> str | None:
    """Two password boxes; the password if they agree (an error on the page if not)."""
    password = st.text_input(label, type="password", autocomplete="new-password")
    again = st.text_input("The password again", type="password", autocomplete="new-password")
    return password if password == again else None


def _redeem(code: str) -> None:
    st.subheader("Create your account")
    st.caption("Your clinic gave you a one-time invite code. Choose a username and a password "
               "(at least 10 characters). If you already have an account, the code sets a new password.")
    with st.form("redeem"):
        code = st.text_input("Invite code", value=code, placeholder="XXXX-XXXX-XXXX-XXXX")
        username = st.text_input("Choose a username", placeholder="letters, digits, . _ - @")
        password = _new_password("Choose a password")
        if st.form_submit_button("Create account and sign in", type="primary"):
            if password is None:
                st.error("The two passwords differ.")
            else:
                try:
                    actor = r.redeem_invite(code, username=username, password=password)
                except RecordError as err:
                    st.error(str(err))
                else:
                    st.query_params.clear()
                    _signed_in(actor)
    if st.button("Back to sign-in", key="leave_invite"):
        st.query_params.clear()
        st.session_state["use_invite"] = False
        st.rerun()


def _sign_in() -> None:
    with st.form("sign_in"):
        username = st.text_input("Username", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        if st.form_submit_button("Sign in", type="primary"):
            try:
                actor = r.sign_in(username, password)
            except RecordError as err:
                st.error(str(err))
            else:
                _signed_in(actor)


def _set_up() -> None:
    st.caption("The first account is the clinic's admin: it invites the other practitioners, "
               "sees the audit log and can erase records. Choose a strong password; it cannot be "
               "recovered, only replaced (`python -m analyzer invite --role admin` on the server).")
    with st.form("set_up"):
        clinic = st.text_input("Clinic name")
        username = st.text_input("Admin username", placeholder="letters, digits, . _ - @")
        password = _new_password("Password (at least 10 characters)")
        if st.form_submit_button("Create the admin account", type="primary"):
            if password is None:
                st.error("The two passwords differ.")
            else:
                try:
                    actor = r.set_up(clinic_name=clinic, username=username, password=password)
                except RecordError as err:
                    st.error(str(err))
                else:
                    _signed_in(actor)


_, page, _ = st.columns([1, 2, 1])
with page:
    st.title("Skin progress")
    reason = st.session_state.pop("signed_out_reason", None)
    if reason:
        st.info(reason)
    invite = st.query_params.get("invite")
    demo = r.has_demo()
    first_run = r.needs_set_up() and not demo
    if invite is not None or st.session_state.get("use_invite"):
        _redeem(invite or "")
    elif first_run:  # a fresh install: nobody to sign in yet
        st.subheader("Set up your clinic")
        _set_up()
        st.button("I have an invite code", key="use_invite_button",
                  on_click=lambda: st.session_state.update(use_invite=True))
    else:
        _sign_in()
        st.button("I have an invite code", key="use_invite_button",
                  on_click=lambda: st.session_state.update(use_invite=True))
        if demo:
            names = " or ".join(f"**{name}**" for name in DEMO_ACCOUNTS)
            st.info(f"**{DEMO_CLINIC}** (synthetic data only): sign in as {names}, password "
                    f"**{DEMO_PASSWORD}**. It cannot see any other clinic's patients.",
                    icon=":material/science:")
        if r.needs_set_up():  # the demo is here, the clinic's own admin not yet (drawn on demand)
            st.divider()
            if st.toggle("New here? Set up your own clinic", key="show_set_up"):
                _set_up()
