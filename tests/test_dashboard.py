"""The dashboard: pages render with the demo patient, headless (AppTest) and served for real."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("ANALYZER_DEMO_DIR", raising=False)


def test_photos_page_shows_the_demo_patient_baseline_beside_the_latest_session():
    at = _app().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Demo Patient"]
    assert any("DEMO" in c.value for c in at.caption), "demo data is clearly marked"
    visit = at.selectbox(key="visit")
    assert visit.value.startswith("Session 5"), "defaults to the latest visit"
    assert len(visit.options) == 7
    assert [s.value for s in at.subheader][:2] == ["Baseline", "Selected"]
    assert not at.error


def test_choosing_a_follow_up_and_a_close_up_view_keeps_the_page_whole():
    at = _app().run()
    follow_up = next(o for o in at.selectbox(key="visit").options if "day 1" in o)
    at.selectbox(key="visit").set_value(follow_up).run()
    # follow-ups have only a front photo; a close-up view must say so, not fail
    at.radio(key="view").set_value("left-cheek").run()
    assert not at.exception
    assert any("No left cheek photo" in i.value for i in at.info)


def test_missing_demo_data_ends_in_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYZER_DEMO_DIR", str(tmp_path))
    at = _app().run()
    assert not at.exception
    assert "make_demo.py" in at.error[0].value


def _demo_with(folder: Path, monkeypatch, name: str, replacement: bytes) -> None:
    """Point the app at a copy of the demo whose photo `name` has other bytes."""
    demo = ROOT / "sample_images"
    shutil.copy(demo / "manifest.json", folder)
    for photo in demo.glob("*.jpg"):
        if photo.name != name:
            (folder / photo.name).symlink_to(photo)
    (folder / name).write_bytes(replacement)
    monkeypatch.setenv("ANALYZER_DEMO_DIR", str(folder))


def test_damaged_photo_is_reported_on_the_page_not_as_a_traceback(tmp_path, monkeypatch):
    _demo_with(tmp_path, monkeypatch, "session5_front.jpg", b"not a photo")
    at = _app().run()
    assert not at.exception
    assert any("session5_front.jpg" in e.value and "not a photo" in e.value for e in at.error)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_streamlit_serves_the_dashboard(tmp_path):
    """What `make run` starts: the server comes up and answers on its port."""
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", APP, "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false"]
    log = (tmp_path / "streamlit.log").open("wb")
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("dashboard did not start:\n" + (tmp_path / "streamlit.log").read_text())
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert r.status == 200
            assert b"<title>" in r.read()
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def test_aligned_change_view_shows_the_heatmap_with_its_score():
    at = _app().run()
    day1 = next(o for o in at.selectbox(key="visit").options if "day 1" in o)
    at.selectbox(key="visit").set_value(day1).run()
    at.toggle(key="aligned").set_value(True).run()
    assert not at.exception and not at.error and not at.warning
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert len(captions) == 3  # baseline, selected, and the aligned pair with its change
    assert "aligned (registration score" in captions[2]
    changes = next(df.value for df in at.dataframe if "Measure" in df.value.columns)
    redness = changes.set_index("Measure").loc["Erythema index"]
    # the day after session 2, against session 1: +5.5 EI units measured, well beyond noise (0.25)
    assert redness["Change"] > 3 and bool(redness["Beyond noise"])


def test_photos_of_different_skin_are_not_shown_as_aligned(tmp_path, monkeypatch):
    # the day-1 follow-up "photo" is in fact the other cheek: it must be refused, with the reason
    other_cheek = (ROOT / "sample_images" / "session1_right-cheek.jpg").read_bytes()
    _demo_with(tmp_path, monkeypatch, "session2_day1_front.jpg", other_cheek)
    at = _app().run()
    day1 = next(o for o in at.selectbox(key="visit").options if "day 1" in o)
    at.selectbox(key="visit").set_value(day1).run()
    at.toggle(key="aligned").set_value(True).run()
    assert not at.exception
    assert at.warning and at.warning[0].value.startswith("Not aligned:")
    assert len(at.get("image")) == 2
