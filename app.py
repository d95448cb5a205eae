"""Streamlit entry point: who is signed in, and the pages they may open. Pages live in analyzer/dashboard/.

Nobody reaches a page before signing in; a patient reaches only their own
progress and their account; the team and the audit log are the admin's. The
records check the same rules again on every call (analyzer.records.access), so
a page reached some other way still shows nothing that is not the user's.
"""

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from analyzer.dashboard.common import records
from analyzer.images import InvalidImage
from analyzer.records import Forbidden, MissingBlob, NotFound, SettingsError, SignInRefused

# Signed in: wide pages for photos and charts. The sign-in page stays light: centred, and no icon font
# to fetch before the first page is drawn (bench/dashboard.py).
st.set_page_config(page_title="Skin progress", layout="wide" if "actor" in st.session_state else "centered")

try:
    records()
except (SQLAlchemyError, OSError, SettingsError) as err:
    st.error(f"The clinic records cannot be opened: {getattr(err, 'orig', None) or err}. Check "
             "ANALYZER_DATA_DIR / ANALYZER_DATABASE_URL / ANALYZER_CONFIG and that the database server "
             "is running.")
    st.stop()


def _sign_out(reason: str | None = None) -> None:
    actor = st.session_state.get("actor")
    if actor is not None and reason is None:
        records().sign_out(actor)
    st.session_state.clear()  # nothing of this user stays in the browser session
    if reason:
        st.session_state["signed_out_reason"] = reason


actor = st.session_state.get("actor")
if actor is not None:
    try:
        actor = records().resume(actor)  # ended by sign-out elsewhere, inactivity, age or a disabled account
    except SignInRefused as err:
        _sign_out(str(err))
        actor = None

pages = "analyzer/dashboard/"
if actor is None:
    navigation = st.navigation([st.Page(pages + "signin_page.py", title="Sign in", icon=":material/login:")],
                               position="hidden")
else:
    account = st.Page(pages + "account_page.py", title="My account", icon=":material/key:")
    if actor.role == "patient":
        navigation = st.navigation([st.Page(pages + "patient_page.py", title="My progress",
                                            icon=":material/monitoring:"), account])
    else:
        sections = {
            "Clinic": [
                st.Page(pages + "patients_page.py", title="Patients", icon=":material/group:", default=True),
                st.Page(pages + "session_page.py", title="New session", icon=":material/add_a_photo:"),
            ],
            "Results": [
                st.Page(pages + "progress_page.py", title="Progress", icon=":material/monitoring:"),
                st.Page(pages + "compare_page.py", title="Compare", icon=":material/compare:"),
                st.Page(pages + "report_page.py", title="Report", icon=":material/description:"),
            ],
            "Account": [account],
        }
        if actor.is_admin:
            sections["Account"] = [
                st.Page(pages + "team_page.py", title="Team", icon=":material/badge:"),
                st.Page(pages + "audit_page.py", title="Audit log", icon=":material/history:"),
                account,
            ]
        navigation = st.navigation(sections)
    clinic, demo = records().clinic(actor)
    with st.sidebar:
        if demo:
            st.warning("DEMO clinic: a synthetic patient built from a public-domain photo, not a real "
                       "person.", icon=":material/science:")
        st.caption(f"**{actor.username}** · {actor.role} · {clinic}")
        st.button("Sign out", key="sign_out", on_click=_sign_out, icon=":material/logout:")

try:
    navigation.run()
except SignInRefused as err:
    _sign_out(str(err))
    st.rerun()
except Forbidden:
    st.error("That is not among the records you may see. The attempt was logged.")
except NotFound:  # erased or removed by someone else since this page listed it
    st.error("That record is no longer there: it may have been erased meanwhile. Choose again from the "
             "list.")
except MissingBlob as err:
    st.error(f"A stored image is missing ({err}). Restore the data folder's images/ from the last backup.")
except InvalidImage as err:  # uploads are checked on their page: this is a stored image gone bad
    st.error(f"A stored image could not be read ({err}). Restore the data folder's images/ from the last "
             "backup.")
except SQLAlchemyError as err:
    st.error(f"The clinic records could not be read or written: {getattr(err, 'orig', None) or err}. "
             "Nothing was half-saved; try again, and check the database server if it persists.")
