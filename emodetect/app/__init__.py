"""The web app's server side: what the Streamlit pages (`app.py`, `pages/`) share, one module per concern.

`page` (the page list, set-up, visitor text as plain text), `settings` (the operator's settings and the
server-wide resources they size), `model` (the cached detectors per reading and door, the card's numbers),
`image_page`, `video_page` with `video_process` (a clip analysed in a child process), `explorer`,
`batch_results`; the webcam's `live` (per-frame work), `room` (each stream's frame rate under the server's
load) and `consent` (WebRTC consent checks); `roots` (the
folders a visitor may reach), `slots` (the line for analyses), `samples`, `charts` (plotly figures).

May import: the library (`emodetect.*`), Streamlit, streamlit-webrtc, plotly, pandas, and
`emodetect.training.evaluate`'s metrics (scikit-learn, never TensorFlow). Never Ray: `ray.init` replaces the
server's SIGTERM handler. Nothing outside this package and the pages imports it.
"""
