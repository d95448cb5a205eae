"""Streamlit entry point: navigation only. Pages live in analyzer/dashboard/."""

import streamlit as st

st.set_page_config(page_title="Skin progress", page_icon=":material/face:", layout="wide")
st.navigation([
    st.Page("analyzer/dashboard/photos_page.py", title="Photos", icon=":material/photo_library:",
            default=True),
]).run()
