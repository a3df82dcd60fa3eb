"""The emodetect demo: `streamlit run app.py`. The pages live in pages/; this lists them for the sidebar."""

import streamlit as st

from emodetect.app_support import PAGES

st.navigation([st.Page(page.file, title=page.title, icon=page.icon, default=page.file == PAGES[0].file)
               for page in PAGES]).run()
