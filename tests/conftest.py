"""Shared fixtures: the real data in ../shared/data, loaded once per test session, and the app in a browser
(one server and one Chromium of each kind per session, for tests/test_browser.py and tests/test_concurrency.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from emodetect.paths import PROJECT_DIR, default_data_dir  # noqa: E402
from tests import browser_support  # noqa: E402

FER_DIR = default_data_dir()
MEDIA_DIR = PROJECT_DIR.parent / "shared" / "data" / "media"
WILD_DIR = PROJECT_DIR.parent / "shared" / "data" / "wild"  # evaluation only, never trained on


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not found at {path} (this test needs ../shared/data)")
    return path


MAIN_MODULE = sys.modules["__main__"]  # pytest's own (or a pytest-xdist worker's), before any test ran


@pytest.fixture(autouse=True)
def keep_main_module() -> Iterator[None]:
    """Streamlit's AppTest leaves the last page it ran as sys.modules["__main__"], and a process pool started
    afterwards (spawn) re-runs `__main__`'s file in every worker: 16 s each for the dataset explorer, and a
    dead worker where the page fails outside Streamlit. Restored to the session's own after every test (a
    module-scoped fixture's AppTest runs before this fixture could note the main module)."""
    sys.modules["__main__"] = MAIN_MODULE
    yield
    sys.modules["__main__"] = MAIN_MODULE


@pytest.fixture(scope="session", autouse=True)
def fresh_clone_build(request, tmp_path_factory) -> Iterator[Future | None]:
    """tests/test_setup.py's fresh clone and its first `make deps` (~45 s, mostly pip unpacking wheels), started
    with the session on a thread of its own so that it runs beside the other tests (they leave a core idle much
    of the time); that test waits for the result. None when test_setup.py is not among the tests run."""
    if not any(item.path.name == "test_setup.py" for item in request.session.items):
        yield None
        return
    from tests.test_setup import SYSTEM_PYTHON, _managed, build_fresh_clone

    if not SYSTEM_PYTHON.exists() or not _managed(SYSTEM_PYTHON):
        yield None  # the test skips, saying why
        return
    with ThreadPoolExecutor(1) as thread:
        yield thread.submit(build_fresh_clone, tmp_path_factory.mktemp("fresh-clone"))


@pytest.fixture(scope="session")
def fer_dir() -> Path:
    return _require(FER_DIR)


@pytest.fixture(scope="session")
def media_dir() -> Path:
    return _require(MEDIA_DIR)


@pytest.fixture(scope="session")
def wild_dir() -> Path:
    return _require(WILD_DIR)


@pytest.fixture(scope="session")
def fer(fer_dir):
    from emodetect.data import load_fer2013

    return load_fer2013(fer_dir)


@pytest.fixture(scope="session")
def classifier():
    from emodetect.classifier import EmotionClassifier

    return EmotionClassifier.load()


@pytest.fixture(scope="session")
def results_root(media_dir, tmp_path_factory) -> Path:
    """A folder of batch results as an operator keeps them (tests/batch_support.py says what is in it)."""
    from tests.batch_support import write_results_root

    return write_results_root(media_dir, tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="session")
def small_fer_copy(fer_dir, tmp_path_factory) -> Path:
    """8 real PrivateTest faces per emotion, laid out like the shared copy (so FER+ has their votes): the
    explorer classifies all of a copy's PrivateTest, which takes ~10 s for the shared one on two cores."""
    import shutil

    from emodetect.labels import EMOTIONS

    data = tmp_path_factory.mktemp("small") / "fer2013"
    for emotion in EMOTIONS:
        (data / "test" / emotion).mkdir(parents=True)
        for file in sorted((fer_dir / "test" / emotion).glob("PrivateTest_*"))[:8]:
            shutil.copy(file, data / "test" / emotion / file.name)
    return data


@pytest.fixture(scope="session")
def app_server(results_root, small_fer_copy, fer_dir) -> Iterator[browser_support.AppServer]:
    """The app on a free loopback port for the whole session; its log is `browser_support.SERVER_LOG`
    (test-output/streamlit-server.log, or -gw0.log and so on under pytest-xdist).
    Its operator's settings: `results_root` for the Batch results page, and two copies of FER-2013 for the
    explorer, `small_fer_copy` first (the one it opens with, "fer2013") and the shared one ("fer2013 (2)")."""
    settings = {"EMODETECT_RESULTS": str(results_root),
                "EMODETECT_DATA": os.pathsep.join([str(small_fer_copy), str(fer_dir)])}
    with browser_support.app_server(settings=settings) as server:
        yield server


@pytest.fixture(scope="session")
def app_url(app_server) -> str:
    return app_server.url


@pytest.fixture(scope="session")
def playwright() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright) -> Iterator:
    browser = browser_support.launch_chromium(playwright)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def camera_browser(playwright, media_dir, tmp_path_factory) -> Iterator:
    """A Chromium whose camera is a clip of talking_woman.mp4, with the permission prompt pre-approved."""
    clip = browser_support.write_y4m(media_dir / "talking_woman.mp4",
                                     tmp_path_factory.mktemp("camera") / "talking_woman.y4m")
    browser = browser_support.launch_chromium(playwright, camera=clip)
    yield browser
    browser.close()


@pytest.fixture
def page(browser) -> Iterator:
    """A page in its own browser context, so its own Streamlit session."""
    page = browser_support.new_page(browser)
    yield page
    page.context.close()

