"""Streamlit entry point: navigation, and who is looking (the clinic, or one patient through their link).

Pages live in analyzer/dashboard/.
"""

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from analyzer.dashboard.common import records
from analyzer.records import MissingBlob
from analyzer.records.links import patient_from_token, secret_key

st.set_page_config(page_title="Skin progress", page_icon=":material/face:", layout="wide")

try:
    records()
except (SQLAlchemyError, OSError) as err:
    st.error(f"The clinic records cannot be opened: {getattr(err, 'orig', None) or err}. Check "
             "ANALYZER_DATA_DIR / ANALYZER_DATABASE_URL and that the database server is running.")
    st.stop()

token = st.query_params.get("patient")
if token is not None and "viewer_patient" not in st.session_state:
    patient_id = patient_from_token(token, secret_key(records().data_dir))
    if patient_id is None:
        st.error("This link is not valid. Ask your clinic for your progress link again.")
        st.stop()
    st.session_state["viewer_patient"] = patient_id  # this browser session now sees this patient only

if "viewer_patient" in st.session_state:
    navigation = st.navigation([st.Page("analyzer/dashboard/patient_page.py", title="My progress",
                                        icon=":material/monitoring:")], position="hidden")
else:
    pages = "analyzer/dashboard/"
    navigation = st.navigation({
        "Clinic": [
            st.Page(pages + "patients_page.py", title="Patients", icon=":material/group:", default=True),
            st.Page(pages + "session_page.py", title="New session", icon=":material/add_a_photo:"),
        ],
        "Results": [
            st.Page(pages + "progress_page.py", title="Progress", icon=":material/monitoring:"),
            st.Page(pages + "compare_page.py", title="Compare", icon=":material/compare:"),
            st.Page(pages + "report_page.py", title="Report", icon=":material/description:"),
        ],
    })

try:
    navigation.run()
except MissingBlob as err:
    st.error(f"A stored image is missing ({err}). Restore the data folder's images/ from the last backup.")
except SQLAlchemyError as err:
    st.error(f"The clinic records could not be read or written: {getattr(err, 'orig', None) or err}. "
             "Nothing was half-saved; try again, and check the database server if it persists.")
