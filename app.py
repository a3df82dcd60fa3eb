"""The emodetect demo: `streamlit run app.py`. The pages live in pages/; this lists them for the sidebar.

With a `pages/` folder beside this script, Streamlit serves a page URL opened before anyone has
opened the home page (a tab reloaded after a restart) from that folder without running this script;
`emodetect.app.page.setup_page`, every page's first call, then reruns the app through here, so the page
still gets this sidebar (tests/test_browser.py reloads a page across a server restart).
"""

import streamlit as st

from emodetect.app.page import PAGES

st.navigation([st.Page(page.file, title=page.title, icon=page.icon, default=page.file == PAGES[0].file)
               for page in PAGES]).run()
