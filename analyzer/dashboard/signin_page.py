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
    st.query_params.clear()  # an invite code, used, leaves the address
    st.session_state.clear()  # nothing of a previous user stays in this browser session
    st.session_state["actor"] = actor
    st.rerun()


def _new_password(label: str) -> str | None:
    """Two password boxes; the password if they agree (an error on the page if not)."""
    password = st.text_input(label, type="password", autocomplete="new-password")
    again = st.text_input("The password again", type="password", autocomplete="new-password")
    return password if password == again else None


def _attempt(password: str | None, sign_in) -> None:
    """Run ``sign_in()`` (it returns the signed-in actor) and enter; say why when refused.

    ``password`` is None when the two new-password boxes differ (nothing is tried then).
    """
    if password is None:
        st.error("The two passwords differ.")
        return
    try:
        actor = sign_in()
    except RecordError as err:
        st.error(str(err))
    else:
        _signed_in(actor)


def _redeem(code: str) -> None:
    st.subheader("Create your account")
    st.caption("Your clinic gave you a one-time invite code. Choose a username and a password "
               "(at least 10 characters). If you already have an account, the code sets a new password.")
    with st.form("redeem"):
        code = st.text_input("Invite code", value=code, placeholder="XXXX-XXXX-XXXX-XXXX")
        username = st.text_input("Choose a username", placeholder="letters, digits, . _ - @")
        password = _new_password("Choose a password")
        if st.form_submit_button("Create account and sign in", type="primary"):
            _attempt(password, lambda: r.redeem_invite(code, username=username, password=password))
    st.markdown("[Back to sign-in](?)")


def _sign_in(demo: bool, can_set_up: bool) -> None:
    with st.form("sign_in"):
        username = st.text_input("Username", autocomplete="username",
                                 placeholder=f"{DEMO_CLINIC}: {' or '.join(DEMO_ACCOUNTS)}" if demo else "")
        password = st.text_input("Password", type="password", autocomplete="current-password",
                                 placeholder=f"{DEMO_CLINIC}: {DEMO_PASSWORD}" if demo else "")
        signing_in = st.form_submit_button("Sign in", type="primary")
        invited = st.form_submit_button("I have an invite code")
        setting_up = can_set_up and st.form_submit_button("New here? Set up your own clinic")
    if invited or setting_up:
        st.query_params["invite" if invited else "setup"] = ""
        st.rerun()
    if signing_in:
        _attempt(password, lambda: r.sign_in(username, password))


def _set_up() -> None:
    st.caption("The first account is the clinic's admin: it invites the other practitioners, "
               "sees the audit log and can erase records. Choose a strong password; it cannot be "
               "recovered, only replaced (`python -m analyzer invite --role admin` on the server).")
    with st.form("set_up"):
        clinic = st.text_input("Clinic name")
        username = st.text_input("Admin username", placeholder="letters, digits, . _ - @")
        password = _new_password("Password (at least 10 characters)")
        if st.form_submit_button("Create the admin account", type="primary"):
            _attempt(password, lambda: r.set_up(clinic_name=clinic, username=username, password=password))


st.title("Skin progress")
reason = st.session_state.pop("signed_out_reason", None)
if reason:
    st.info(reason)
# The first page draws a title and one form, nothing else: each other kind of element is a script a
# new browser fetches first (a line of text after the form cost 0.6 s there, bench/dashboard.py).
# The demo clinic's public accounts are the form's placeholders; the sidebar marks the demo once inside.
invite = st.query_params.get("invite")
demo, unset = r.has_demo(), r.needs_set_up()
if invite is not None:
    _redeem(invite)
elif unset and (not demo or "setup" in st.query_params):
    st.subheader("Set up your clinic")
    _set_up()
    st.markdown("[I have an invite code](?invite=)" + (" · [Back to sign-in](?)" if demo else ""))
else:
    _sign_in(demo, unset)
    if r.awaits_first_admin():  # rare, so its element costs the usual first page nothing
        st.info("This server's clinic has no accounts yet. Its first admin gets an invite code on the "
                "server: `python -m analyzer invite --role admin`, then *I have an invite code*.")
