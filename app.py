"""The emodetect demo: `streamlit run app.py`. The pages live in app_pages/; this lists them for the sidebar.

Not in `pages/`: while a `pages/` folder exists, Streamlit serves a page URL opened before anyone has
opened the home page (a tab reloaded after a restart) from that folder without running this script,
with a sidebar of its own that lists this file as "app".
"""

import streamlit as st

from emodetect.app_support import PAGES

st.navigation([st.Page(page.file, title=page.title, icon=page.icon, default=page.file == PAGES[0].file)
               for page in PAGES]).run()
