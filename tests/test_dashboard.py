"""The dashboard, page by page (Streamlit's AppTest), on clinic records holding the demo patient.

Browser tests of the whole workflow are in test_dashboard_e2e.py.
"""

from __future__ import annotations

import datetime as dt
import shutil
import urllib.request
from pathlib import Path

import pytest
import streamlit as st
from served import served
from streamlit.testing.v1 import AppTest

from analyzer.records import PhotoUpload, Records, Settings, reanalyze
from analyzer.records.demo import import_demo
from analyzer.records.links import patient_token, secret_key

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
DEMO = ROOT / "sample_images"
PAGES = "analyzer/dashboard/"


def _settings(folder: Path) -> Settings:
    return Settings(folder, f"sqlite:///{folder / 'analyzer.sqlite3'}")


@pytest.fixture(scope="module")
def demo_records(tmp_path_factory) -> Path:
    """A data folder with the demo patient imported and every photo analysed (built once)."""
    folder = tmp_path_factory.mktemp("demo-data")
    records = Records.open(_settings(folder))
    import_demo(records, DEMO)
    summary = reanalyze(records, workers=2, progress=False)
    assert summary.failures == [] and summary.counts["measured"] == 17
    records.close()
    return folder


@pytest.fixture
def data(demo_records, tmp_path, monkeypatch) -> Path:
    """A private copy of the demo data folder, which the app under test uses."""
    folder = tmp_path / "data"
    shutil.copytree(demo_records, folder)
    monkeypatch.setenv("ANALYZER_DATA_DIR", str(folder))
    monkeypatch.delenv("ANALYZER_DATABASE_URL", raising=False)
    st.cache_resource.clear()  # the app's Records are cached per process: open this folder's
    st.cache_data.clear()
    return folder


def _app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    if page:
        at.switch_page(PAGES + page).run()
    assert not at.exception, at.exception
    return at


def _table(at: AppTest, column: str):
    """The page's table that has ``column`` (tables without selection have no key in AppTest)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_patients_page_lists_the_demo_patient_marked_as_demo(data):
    at = _app()
    assert [t.value for t in at.title] == ["Patients"]
    table = at.table[0].value
    assert list(table["Name"]) == ["Demo Patient"] and list(table["Visits"]) == [7]
    assert any("DEMO" in c.value for c in at.sidebar.caption)
    assert not at.error


def test_a_patient_is_added_and_bad_details_are_explained(data):
    at = _app()
    at.toggle(key="show_add").set_value(True).run()
    at.text_input[1].set_value("Zoë Second")  # in the form; [0] is the search box
    at.checkbox[0].check()
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    assert any("Added Zoë Second" in s.value for s in at.success)
    assert "Zoë Second" in list(at.table[0].value["Name"])
    assert at.sidebar.selectbox(key="patient_id").value != 1  # the new patient is now the chosen one
    at.toggle(key="show_add").set_value(True).run()
    at.text_input[1].set_value("   ")
    at.button[0].click().run()
    assert any("needs a name" in e.value for e in at.error)


def test_a_patient_is_edited_and_their_link_shown(data):
    at = _app()
    at.toggle(key="show_edit").set_value(True).run()
    at.text_area[0].set_value("keloid tendency")
    at.button[0].click().run()
    assert not at.exception
    assert any("Contraindications: keloid tendency" in w.value for w in at.warning)
    at.toggle(key="show_link").set_value(True).run()
    assert at.code[0].value.startswith("?patient=1.")


def test_search_that_finds_nobody_says_so(data):
    at = _app()
    at.text_input(key="patient_search").set_value("nobody-by-this-name").run()
    assert any("No patient's name contains" in i.value for i in at.info)


def _jpeg(name: str) -> bytes:
    return (DEMO / name).read_bytes()


def test_new_session_checks_uploads_saves_and_measures(data):
    at = _app("session_page.py")
    at.file_uploader[0].set_value([("session5_front.jpg", _jpeg("session5_front.jpg"), "image/jpeg"),
                                   ("broken.jpg", b"not a photo at all", "image/jpeg")]).run()
    assert not at.exception
    assert any("good photo" in s.value for s in at.success)
    assert any("broken.jpg" in e.value and "Will not be saved" in e.value for e in at.error)
    at.number_input(key="s_depth").set_value(1.5)
    at.button(key="save_session").click().run()
    assert not at.exception
    saved = [s.value for s in at.success if "Saved the session" in s.value]
    assert saved and "1 photo(s)" in saved[0] and "Front: measured." in saved[0]
    records = Records.open(_settings(data))
    (demo,) = records.find_patients("Demo Patient")
    latest = records.sessions(demo.id)[-1]
    assert latest.needle_depth_mm == 1.5 and [p.view for p in latest.photos] == ["front"]
    assert records.analysis(latest.photos[0].id).status == "measured"
    records.close()


def test_a_phone_heic_photo_is_accepted(data):
    import io

    import cv2
    import pillow_heif
    from PIL import Image

    from analyzer import load_image

    image = cv2.resize(load_image(DEMO / "session5_front.jpg"), None, fx=0.5, fy=0.5)
    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "HEIF", quality=85)
    at = _app("session_page.py")
    at.file_uploader[0].set_value(("IMG_4032 front.HEIC", buf.getvalue(), "image/heic")).run()
    assert not at.exception and not at.error
    assert any("Front: good photo (1200 × 1300)" in s.value for s in at.success)


def test_progress_page_charts_a_measure_per_zone(data):
    at = _app("progress_page.py")
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # the measure, and the recovery after session 2
    table = _table(at, "vs baseline")
    assert len(table) == 7 and table["beyond noise (baseline)"].iloc[1:].notna().all()
    at.selectbox(key="progress_zone").set_value("left_cheek").run()
    assert not at.exception and len(at.get("plotly_chart")) >= 1
    assert any("halves every" in c.value for c in at.caption)  # the fitted fading of redness


def test_compare_page_shows_the_aligned_pair_and_measured_change(data):
    at = _app("compare_page.py")
    assert any("registration score" in c.value for c in at.caption)
    changes = _table(at, "Measure").set_index("Measure")
    assert changes.loc["Erythema index", "Before"] != "—"
    at.segmented_control(key="compare_mode").set_value("Blink").run()
    assert not at.exception
    # the day after session 2 against the baseline: a change well beyond noise
    records = Records.open(_settings(data))
    (demo,) = records.find_patients("Demo Patient")
    day1 = next(s.id for s in records.sessions(demo.id) if s.started_at.date() == dt.date(2026, 3, 31))
    records.close()
    at.selectbox(key="after_front").set_value(day1).run()
    redness = _table(at, "Measure").set_index("Measure").loc["Erythema index"]
    assert float(redness["Change"]) > 3 and redness["Beyond noise"]


def test_a_photo_of_other_skin_is_refused_with_the_reason(data):
    records = Records.open(_settings(data))
    p = records.create_patient(name="Mismatch Case", photo_consent=True)
    records.add_session(p.id, started_at=dt.datetime(2026, 1, 5, 9),
                        photos=[PhotoUpload(_jpeg("session1_left-cheek.jpg"), "close-up: cheek")])
    later = records.add_session(p.id, started_at=dt.datetime(2026, 2, 5, 9),
                                photos=[PhotoUpload(_jpeg("session1_right-cheek.jpg"), "close-up: cheek")])
    refusal = records.analyze(later.photos[0].id)
    assert refusal.status == "refused"
    records.close()
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["patient_id"] = p.id
    at.run()
    at.switch_page(PAGES + "compare_page.py").run()
    assert not at.exception
    assert any("is not compared" in e.value and refusal.message in e.value for e in at.error)
    assert not any("registration score" in c.value for c in at.caption)


def test_report_page_makes_the_pdf(data):
    at = _app("report_page.py")
    assert any("Redness" in m.value or "redness" in m.value for m in at.markdown)
    at.button(key="make_pdf").click().run()
    assert not at.exception
    assert at.get("download_button")  # PDF, CSV


def test_patient_link_shows_that_patient_only(data):
    records = Records.open(_settings(data))
    (demo,) = records.find_patients("Demo Patient")
    records.create_patient(name="Other Person")
    records.close()
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["patient"] = patient_token(demo.id, secret_key(data))
    at.run()
    assert not at.exception
    assert at.title[0].value == "Your skin progress, Demo"
    assert len(at.get("plotly_chart")) == 3
    assert not at.sidebar.selectbox  # no patient picker

    forged = AppTest.from_file(APP, default_timeout=60)
    forged.query_params["patient"] = f"{demo.id}.{'0' * 32}"
    forged.run()
    assert any("not valid" in e.value for e in forged.error) and not forged.title


def test_an_unreachable_database_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYZER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ANALYZER_DATABASE_URL", f"postgresql+psycopg://nobody@/x?host={tmp_path}/nowhere")
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "clinic records cannot be opened" in at.error[0].value


def test_a_missing_stored_image_is_explained(data):
    records = Records.open(_settings(data))
    (demo,) = records.find_patients("Demo Patient")
    baseline = records.baseline(demo.id, "front")
    records.store.delete(baseline.sha256)
    records.close()
    at = _app("compare_page.py")
    assert any("stored image is missing" in e.value for e in at.error)


@pytest.mark.slow
def test_streamlit_serves_the_dashboard(data):
    """What `make run` starts: the server comes up and answers on its port."""
    with served(data) as url, urllib.request.urlopen(f"{url}/", timeout=5) as r:
        assert r.status == 200
        assert b"<title>" in r.read()
