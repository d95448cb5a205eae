"""The dashboard, page by page (Streamlit's AppTest), on clinic records holding the demo patient.

Browser tests of the whole workflow are in test_dashboard_e2e.py.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from served import served
from streamlit.testing.v1 import AppTest

from analyzer import load_image
from analyzer.color import linear_to_srgb, srgb_to_linear
from analyzer.dashboard.common import guess_view
from analyzer.images import to_jpeg_bytes
from analyzer.records import Actor, Forbidden, PhotoUpload, RecordError, Records, Settings, reanalyze
from analyzer.records.access import NotFound
from analyzer.records.demo import DEMO_PASSWORD, import_demo

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


def _sign_in(data: Path, username: str = "demo-practitioner"):
    """A signed-in actor of the demo clinic (as the sign-in page would make it)."""
    records = Records.open(_settings(data))
    try:
        return records.sign_in(username, DEMO_PASSWORD)
    finally:
        records.close()


def _app(data: Path, page: str | None = None, username: str = "demo-practitioner", **state) -> AppTest:
    """The app as ``username`` (signed in), on ``page``; ``state``: more session state."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["actor"] = _sign_in(data, username)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page:
        at.switch_page(PAGES + page).run()
    assert not at.exception, at.exception
    return at


def _practitioner(data: Path) -> tuple[Records, object]:
    records = Records.open(_settings(data))
    return records, records.sign_in("demo-practitioner", DEMO_PASSWORD)


def _table(at: AppTest, column: str):
    """The page's table that has ``column`` (tables without selection have no key in AppTest)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_patients_page_lists_the_demo_patient_marked_as_demo(data):
    at = _app(data)
    assert [t.value for t in at.title] == ["Patients"]
    table = at.table[0].value
    assert list(table["Name"]) == ["Demo Patient"] and list(table["Visits"]) == [7]
    assert any("DEMO clinic" in w.value for w in at.sidebar.warning)
    assert any("demo-practitioner" in c.value for c in at.sidebar.caption)
    assert not at.error


def test_a_patient_is_added_and_bad_details_are_explained(data):
    at = _app(data)
    at.toggle(key="show_add").set_value(True).run()
    at.text_input[1].set_value("Zoë Second")  # in the form; [0] is the search box
    at.checkbox[0].check()
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    assert any("Added Zoë Second" in s.value for s in at.success)
    assert "Zoë Second" in list(at.table[0].value["Name"])
    assert at.sidebar.selectbox(key="patient_id").value != 1  # the new patient is now the chosen one
    at.toggle(key="show_add").set_value(True).run()
    assert at.text_input[1].value == "" and not at.checkbox[0].value  # a blank form for the next one
    at.text_input[1].set_value("   ")
    at.text_area[0].set_value("keloid tendency")
    at.checkbox[0].check()
    at.button[0].click().run()
    assert any("needs a name" in e.value for e in at.error)
    # what was typed stays, to be put right: not added, and not to be typed again
    assert at.text_area[0].value == "keloid tendency" and at.checkbox[0].value


def test_a_patient_is_edited(data):
    at = _app(data)
    at.toggle(key="show_edit").set_value(True).run()
    at.text_area[0].set_value("keloid tendency")
    at.button[0].click().run()
    assert not at.exception
    assert any("Contraindications: keloid tendency" in w.value for w in at.warning)


def test_search_that_finds_nobody_says_so(data):
    at = _app(data)
    at.text_input(key="patient_search").set_value("nobody-by-this-name").run()
    assert any("No patient's name contains" in i.value for i in at.info)


def _jpeg(name: str) -> bytes:
    return (DEMO / name).read_bytes()


def _new_capture(name: str) -> bytes:
    """A demo photo taken again (cropped by 8 px): a visit's new photo, not one already in the record."""
    return to_jpeg_bytes(np.ascontiguousarray(load_image(DEMO / name)[8:-8, 8:-8]), quality=92)


def test_new_session_checks_uploads_saves_and_measures(data):
    at = _app(data, "session_page.py")
    at.file_uploader[0].set_value([("session5_front.jpg", _new_capture("session5_front.jpg"), "image/jpeg"),
                                   ("broken.jpg", b"not a photo at all", "image/jpeg")]).run()
    assert not at.exception
    assert any("good photo" in s.value for s in at.success)
    assert any("broken.jpg" in e.value and "Will not be saved" in e.value for e in at.error)
    assert [box.label for box in at.selectbox if box.label.startswith("View of")] == [
        "View of session5_front.jpg"]  # a file that is not a photo has no view to choose
    at.number_input(key="s_depth").set_value(1.5)
    at.button(key="save_session").click().run()
    assert not at.exception
    saved = [s.value for s in at.success if "Saved the session" in s.value]
    assert saved and "1 photo(s)" in saved[0] and "Front: measured." in saved[0]
    records, me = _practitioner(data)
    (demo,) = records.find_patients(me, "Demo Patient")
    latest = records.sessions(me, demo.id)[-1]
    assert latest.needle_depth_mm == 1.5 and [p.view for p in latest.photos] == ["front"]
    assert records.analysis(me, latest.photos[0].id).status == "measured"
    visits = len(records.sessions(me, demo.id))
    # the form is blank for the next visit, and Save pressed again does not record this one twice
    assert at.number_input(key="s_depth").value is None
    at.button(key="save_session").click().run()
    assert not at.exception and len(records.sessions(me, demo.id)) == visits
    assert any("already has a visit on" in e.value for e in at.error)
    records.close()


def test_uploads_get_the_views_a_clinic_means(data):
    """A phone's file name is a front view; a close-up is offered the names earlier visits used; one photo
    dropped twice is caught before it is saved as two views."""
    at = _app(data, "session_page.py")
    front, cheek = _new_capture("session5_front.jpg"), _new_capture("session5_left-cheek.jpg")
    at.file_uploader[0].set_value([("IMG_1234.jpg", front, "image/jpeg"),
                                   ("session5_left-cheek.jpg", cheek, "image/jpeg")]).run()
    assert not at.exception
    views = [box for box in at.selectbox if box.label.startswith("View of")]
    assert [box.value for box in views] == ["front", "close-up"]  # "close-up: img" before
    known = next(box for box in at.selectbox if box.label == "Close-up of")
    assert known.options[:2] == ["left cheek", "right cheek"] and known.value == "left cheek"
    assert not any("Close-up: left cheek" in s.value and "good photo" not in s.value for s in at.warning)
    assert sum("good photo" in s.value for s in at.success) == 2
    known.set_value("another area…").run()
    assert next(t for t in at.text_input if t.label == "Name of the new area").value == "left cheek"
    name = "IMG-20261207-WA0003.jpg"  # as WhatsApp on Android names a photo (more: the test below)
    at.file_uploader[0].set_value([(name, front, "image/jpeg")]).run()
    assert next(box for box in at.selectbox if box.label == f"View of {name}").value == "front"
    at.file_uploader[0].set_value([("IMG_1234.jpg", front, "image/jpeg"),
                                   ("IMG_1234 copy.jpg", front, "image/jpeg")]).run()
    next(box for box in at.selectbox if box.label == "View of IMG_1234 copy.jpg").set_value("left").run()
    assert any("are the same photo" in e.value for e in at.error)
    assert at.button(key="save_session").disabled


@pytest.mark.parametrize(("name", "view"), [
    ("IMG_1234.jpg", "front"), ("IMG_E1234.JPG", "front"), ("PXL_20261207_101522123.jpg", "front"),
    ("20261207_101522.jpg", "front"), ("IMG-20261207-WA0003.jpg", "front"),
    ("WhatsApp Image 2026-12-07 at 10.15.22 AM.jpeg", "front"), ("photo_2026-12-07_10-15-22.jpg", "front"),
    ("IMG_1234 copy.jpg", "front"), ("session1_front.jpg", "front"), ("left.jpg", "left"),
    ("photo left.jpg", "left"), ("session1_left-cheek.jpg", "close-up: left cheek"),
    ("IMG_1234 left cheek.jpg", "close-up: left cheek"), ("cheek.jpg", "close-up: cheek"),
    ("frontal scar.png", "close-up: frontal scar"), ("Щека.jpg", "close-up: щека"),
    ("脸颊.jpg", "close-up: 脸颊"),
])
def test_a_files_name_suggests_its_view(name, view):
    """Phones' and messaging apps' own names are the usual front photo; a name that says a view or an
    area, in any script, is that one (non-Latin names had become 'front', found in review)."""
    assert guess_view(name) == view


def test_the_patient_chosen_stays_chosen_on_every_page(data):
    """Chosen in the sidebar, or just added: the next page is that patient's, not the list's first."""
    records, me = _practitioner(data)
    ben = records.create_patient(me, name="Ben Other", birth_year=1990, photo_consent=True)
    records.close()
    at = _app(data)
    at.sidebar.selectbox(key="patient_id").set_value(ben.id).run()
    for page in ("session_page.py", "progress_page.py", "patients_page.py", "report_page.py",
                 "session_page.py"):
        at.switch_page(PAGES + page).run()
        assert not at.exception
        assert at.sidebar.selectbox(key="patient_id").value == ben.id, page
    assert "Ben Other" in at.caption[0].value  # the New session page records the visit for Ben
    at.switch_page(PAGES + "patients_page.py").run()
    at.toggle(key="show_add").set_value(True).run()
    at.text_input[1].set_value("Cleo Third")
    at.checkbox[0].check()
    at.button[0].click().run()
    at.switch_page(PAGES + "session_page.py").run()
    assert "Cleo Third" in at.caption[0].value


def test_photos_dropped_for_one_patient_are_not_saved_for_the_next_one_chosen(data):
    records, me = _practitioner(data)
    (demo,) = records.find_patients(me, "Demo Patient")
    ben = records.create_patient(me, name="Ben Other", birth_year=1990, photo_consent=True)
    at = _app(data, "session_page.py")
    at.sidebar.selectbox(key="patient_id").set_value(demo.id).run()
    at.file_uploader[0].set_value([("front.jpg", _new_capture("session5_front.jpg"), "image/jpeg")]).run()
    at.text_area(key="s_notes").set_value("Demo Patient: blistering on the left cheek")
    at.text_input(key="s_device").set_value("Dermapen 4").run()
    assert any("good photo" in s.value for s in at.success) and "Demo Patient" in at.caption[0].value
    at.sidebar.selectbox(key="patient_id").set_value(ben.id).run()  # the practitioner switches patient
    assert not at.exception and "Ben Other" in at.caption[0].value
    assert not any("good photo" in s.value for s in at.success)  # Ben's page starts with no photos
    assert at.text_area(key="s_notes").value == "" and at.text_input(key="s_device").value == ""
    at.button(key="save_session").click().run()
    assert not at.exception
    (saved,) = records.sessions(me, ben.id)  # had held the demo patient's photo, notes and device
    assert (len(saved.photos), saved.notes, saved.device) == (0, "", "")
    records.close()


def test_a_photo_checked_for_one_patient_is_refused_for_another(data):
    records, me = _practitioner(data)
    (demo,) = records.find_patients(me, "Demo Patient")
    ben = records.create_patient(me, name="Ben Other", birth_year=1990, photo_consent=True)
    checked = records.prepare_photo(me, demo.id, PhotoUpload(_jpeg("session5_front.jpg"), "front", "a.jpg"))
    with pytest.raises(RecordError, match="a.jpg was checked for another patient's record"):
        records.add_session(me, ben.id, started_at=dt.datetime(2026, 7, 1, 10), photos=[checked])
    assert records.sessions(me, ben.id) == []
    records.close()


def test_a_photo_already_in_the_record_is_pointed_out_before_saving(data):
    at = _app(data, "session_page.py")  # the demo patient's first front photo, uploaded again
    at.file_uploader[0].set_value([("front.jpg", _jpeg("session1_front.jpg"), "image/jpeg")]).run()
    assert not at.exception and not any("good photo" in s.value for s in at.success)
    assert any("same photo as the front photo of" in w.value and "no change" in w.value for w in at.warning)
    at.file_uploader[0].set_value([]).run()  # taken out again: its check (and PNG) is not kept
    assert at.session_state["checked_photos"] == {}


def test_a_stored_photo_damaged_on_disk_is_named_not_a_traceback(data):
    records, me = _practitioner(data)
    (demo,) = records.find_patients(me, "Demo Patient")
    baseline = records.sessions(me, demo.id)[0].photo("front")
    stored = records.store.path(baseline.sha256)
    stored.write_bytes(stored.read_bytes()[:2000])  # a disk fault cut the file
    records.close()
    at = _app(data, "compare_page.py")
    assert not at.exception
    assert any("A stored image could not be read" in e.value and "backup" in e.value for e in at.error)


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
    at = _app(data, "session_page.py")
    at.file_uploader[0].set_value(("IMG_4032 front.HEIC", buf.getvalue(), "image/heic")).run()
    assert not at.exception and not at.error
    assert any("Front: good photo (1200 × 1300)" in s.value for s in at.success)


def test_progress_page_charts_a_measure_per_zone(data):
    at = _app(data, "progress_page.py")
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # the measure, and the recovery after session 2
    table = _table(at, "vs baseline")
    assert len(table) == 7 and table["beyond noise (baseline)"].iloc[1:].notna().all()
    # as on the Compare page: the measure's decimals (EI 1), signed changes, a dash for the baseline
    assert table["vs baseline"].iloc[0] == "—" and table["vs previous"].iloc[0] == "—"
    assert all(re.fullmatch(r"[+-]\d+\.\d", v) for v in table["vs baseline"].iloc[1:]), table
    assert all(re.fullmatch(r"\d+\.\d", v) for v in table["Erythema index"]), table
    at.selectbox(key="progress_zone").set_value("left_cheek").run()
    assert not at.exception and len(at.get("plotly_chart")) >= 1
    assert any("halves every" in c.value for c in at.caption)  # the fitted fading of redness


def test_compare_page_shows_the_aligned_pair_and_measured_change(data):
    at = _app(data, "compare_page.py")
    assert any("registration score" in c.value for c in at.caption)
    changes = _table(at, "Measure").set_index("Measure")
    assert changes.loc["Erythema index", "Before"] != "—"
    at.segmented_control(key="compare_mode").set_value("Blink").run()
    assert not at.exception
    # the day after session 2 against the baseline: a change well beyond noise
    records, me = _practitioner(data)
    (demo,) = records.find_patients(me, "Demo Patient")
    day1 = next(s.id for s in records.sessions(me, demo.id) if s.started_at.date() == dt.date(2026, 3, 31))
    records.close()
    at.selectbox(key="after_front").set_value(day1).run()
    redness = _table(at, "Measure").set_index("Measure").loc["Erythema index"]
    assert float(redness["Change"]) > 3 and redness["Beyond noise"]


def test_two_later_visits_are_compared_as_the_progress_chart_shows_them(data):
    """Session 2 against session 4 (whose photo shows less of the turned face): each visit is the
    baseline's reading plus its change from it, so what neither changed is not a change between them."""
    records, me = _practitioner(data)
    (demo,) = records.find_patients(me, "Demo Patient")
    by_day = {s.started_at.date(): s.id for s in records.sessions(me, demo.id)}
    shown = {p.session.id: p.values for p in records.timeline(me, demo.id).points}
    records.close()
    second, fourth = by_day[dt.date(2026, 3, 30)], by_day[dt.date(2026, 5, 25)]
    at = _app(data, "compare_page.py")
    at.selectbox(key="before_front").set_value(second).run()
    at.selectbox(key="after_front").set_value(fourth).run()
    assert not at.exception
    changes = _table(at, "Measure").set_index("Measure")
    ita = changes.loc["ITA"]
    assert (float(ita["Before"]), float(ita["After"])) == (round(shown[second]["pigmentation.ita_deg"], 1),
                                                         round(shown[fourth]["pigmentation.ita_deg"], 1))
    # each photo's own reading over the skin it shares with the baseline differs by 6 degrees
    assert abs(float(ita["Change"])) < 0.5 and not ita["Beyond noise"]
    assert changes.loc["Brown spots", "Change"] == "0"  # no sign on a change that is none
    assert any("baseline's reading plus each visit's change" in c.value for c in at.caption)


def test_two_later_visits_one_sent_by_a_messaging_app_do_not_claim_a_texture_change(data):
    """The last visit's photo saved again at JPEG quality 70, as a messaging app sends it, recorded as
    a visit of its own: against the last visit its texture changes are the compression's, not called
    beyond noise, and the page says why."""
    records, me = _practitioner(data)
    (demo,) = records.find_patients(me, "Demo Patient")
    last = max((s for s in records.sessions(me, demo.id) if s.photo("front")), key=lambda s: s.started_at)
    sent = to_jpeg_bytes(records.image(me, last.photo("front").sha256), quality=70)
    again = records.add_session(me, demo.id, started_at=last.started_at + dt.timedelta(days=1),
                                photos=[PhotoUpload(sent)])
    assert records.analyze(me, again.photo("front").id).result["jpeg_quality"][1] == 70
    records.close()
    at = _app(data, "compare_page.py")
    at.selectbox(key="before_front").set_value(last.id).run()
    at.selectbox(key="after_front").set_value(again.id).run()
    assert not at.exception
    changes = _table(at, "Measure").set_index("Measure")
    for texture in ("Roughness", "Fine lines and wrinkles", "Pores"):
        assert not changes.loc[texture, "Beyond noise"], texture
    assert any("against the baseline" in w.value and "the later photo at 70" in w.value for w in at.warning)
    assert any("Not judged" in c.value and "pores" in c.value and "erythema" not in c.value
               for c in at.caption)


def test_a_drawn_area_is_named_on_every_page_and_the_whole_skin_comes_back(data):
    at = _app(data, "compare_page.py")
    assert at.expander[0].label == "Measured area: the whole skin"
    assert at.button(key="area_front_save").disabled  # nothing drawn yet (drawing: test_dashboard_e2e.py)
    assert at.button(key="area_front_clear").disabled
    records, me = _practitioner(data)
    (demo,) = records.find_patients(me, "Demo Patient")
    front = [s.photo("front") for s in records.sessions(me, demo.id) if s.photo("front") is not None]
    records.set_measured_area(me, demo.id, "front", [(640, 1020), (1000, 1020), (1000, 1400), (640, 1400)])
    for photo in (front[0], front[-1]):  # the baseline and the latest visit, over the right cheek
        assert records.analyze(me, photo.id).status == "measured"
    records.close()
    at = _app(data, "compare_page.py")
    assert at.expander[0].label == "Measured area: the outline drawn on the baseline"
    assert any("skin inside the area outlined" in c.value for c in at.caption)
    assert _table(at, "Measure").set_index("Measure").loc["Erythema index", "Before"] != "—"
    progress = _app(data, "progress_page.py")
    assert any("skin inside the area outlined" in c.value for c in progress.caption)
    progress.selectbox(key="progress_zone").set_value("forehead").run()
    assert any("has no face zones" in i.value for i in progress.info)
    patient = _app(data, username="demo-patient")
    assert any("treated skin your practitioner outlined" in c.value for c in patient.caption)
    at.button(key="area_front_clear").click().run()  # the whole skin's analyses are still cached
    assert not at.exception and at.expander[0].label == "Measured area: the whole skin"
    assert any("whole skin of the view" in c.value for c in at.caption)


def test_a_photo_of_other_skin_is_refused_with_the_reason(data):
    records, me = _practitioner(data)
    p = records.create_patient(me, name="Mismatch Case", photo_consent=True)
    records.add_session(me, p.id, started_at=dt.datetime(2026, 1, 5, 9),
                        photos=[PhotoUpload(_jpeg("session1_left-cheek.jpg"), "close-up: cheek")])
    later = records.add_session(me, p.id, started_at=dt.datetime(2026, 2, 5, 9),
                                photos=[PhotoUpload(_jpeg("session1_right-cheek.jpg"), "close-up: cheek")])
    refusal = records.analyze(me, later.photos[0].id)
    assert refusal.status == "refused"
    records.close()
    at = _app(data, "compare_page.py", patient_id=p.id)
    assert any("is not compared" in e.value and refusal.message in e.value for e in at.error)
    assert not any("registration score" in c.value for c in at.caption)


def _compare_page_with_a_relit_follow_up(data, name: str, exposure: float):
    """The Compare page of a new patient: the demo baseline, then that photo at `exposure` x its light."""
    baseline = load_image(DEMO / "session1_front.jpg")
    linear = np.minimum(srgb_to_linear(baseline) * np.float32(exposure), 1.0)
    relit = np.rint(linear_to_srgb(linear) * 255).astype(np.uint8)
    records, me = _practitioner(data)
    p = records.create_patient(me, name=name, photo_consent=True)
    records.add_session(me, p.id, started_at=dt.datetime(2026, 1, 5, 9),
                        photos=[PhotoUpload(_jpeg("session1_front.jpg"), "front")])
    later = records.add_session(me, p.id, started_at=dt.datetime(2026, 2, 5, 9),
                                photos=[PhotoUpload(to_jpeg_bytes(relit, quality=92), "front")])
    assert records.analyze(me, later.photos[0].id).status == "measured"
    records.close()
    return _app(data, "compare_page.py", patient_id=p.id)


def test_compare_page_warns_when_the_later_photo_was_lit_differently(data):
    """A follow-up 40 % darker than the baseline: outside the light the noise limits were measured on."""
    at = _compare_page_with_a_relit_follow_up(data, "Dim Lamp", 0.6)
    (warning,) = [w.value for w in at.warning if "lit more differently" in w.value]
    assert "brightness -" in warning and "Photograph with the same lamp" in warning
    assert "judged against wider limits" in warning
    assert any("The limits are wider here" in c.value for c in at.caption)  # under the table of changes


def test_compare_page_says_when_glare_hid_skin_in_the_later_photo(data):
    """A follow-up twice as bright as the baseline: much skin clips, and is measured in neither photo."""
    at = _compare_page_with_a_relit_follow_up(data, "Bright Lamp", 2.0)
    (warning,) = [w.value for w in at.warning if "hidden in the later photo" in w.value]
    assert "measured in neither photo" in warning


def test_report_page_makes_the_pdf(data):
    at = _app(data, "report_page.py")
    assert any("Redness" in m.value or "redness" in m.value for m in at.markdown)
    at.button(key="make_pdf").click().run()
    assert not at.exception
    assert at.get("download_button")  # PDF, CSV


def _texts(at: AppTest) -> str:
    """Everything the page says, as one string (to check what a user can read on it)."""
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "error",
                                  "warning", "success") for e in at.get(kind)]
    parts += [str(t.value) for t in at.table] + [str(d.value) for d in at.dataframe]
    return "\n".join(map(str, parts))


def _redeem(code: str, username: str, password: str) -> AppTest:
    """A new browser session that opens the invite link and creates the account."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["invite"] = code
    at.run()
    at.text_input[1].set_value(username)
    at.text_input[2].set_value(password)
    at.text_input[3].set_value(password)
    at.button[0].click().run()
    return at


def test_a_patient_invited_by_their_practitioner_sees_their_own_progress_only(data):
    records, me = _practitioner(data)
    (demo,) = records.find_patients(me, "Demo Patient")
    other = records.create_patient(me, name="Other Person", photo_consent=True)
    records.close()
    at = _app(data, patient_id=other.id)
    at.toggle(key="show_portal").set_value(True).run()
    at.button(key=f"invite_patient_{other.id}").click().run()
    assert not at.exception
    code = at.code[0].value
    assert "?invite=" + code in at.code[1].value  # the link fills the code in

    opened = AppTest.from_file(APP, default_timeout=120)
    opened.query_params["invite"] = code
    opened.run()
    assert [t.value for t in opened.title] == ["Skin progress"] and opened.subheader[0].value == \
        "Create your account"
    patient = _redeem(code, "other.person", "a long secret 1")
    assert not patient.exception
    assert patient.title[0].value == "Your skin progress, Other"  # no photos yet: says so
    assert "Demo Patient" not in _texts(patient)
    assert not patient.sidebar.selectbox  # no patient picker
    for page in ("patients_page.py", "session_page.py", "compare_page.py", "progress_page.py",
                 "report_page.py", "team_page.py", "audit_page.py"):  # not registered for a patient at all
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            patient.switch_page(PAGES + page)

    again = _redeem(code, "someone.else", "a long secret 2")  # the code is used up
    assert any("not valid" in e.value for e in again.error) and "actor" not in again.session_state


def test_a_patient_with_close_ups_only_sees_them(data):
    records, me = _practitioner(data)
    p = records.create_patient(me, name="Close Up", photo_consent=True)
    for month, name in ((1, "session1_left-cheek.jpg"), (3, "session3_left-cheek.jpg")):
        visit = records.add_session(me, p.id, started_at=dt.datetime(2026, month, 5, 9),
                                    photos=[PhotoUpload(_jpeg(name), "close-up: left cheek")])
        records.analyze(me, visit.photos[0].id)
    code = records.invite(me, patient_id=p.id).code
    records.redeem_invite(code, username="close.up", password="a long secret 3")
    actor = records.sign_in("close.up", "a long secret 3")
    records.close()
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["actor"] = actor
    at.run()
    assert not at.exception
    assert "after your first visit" not in _texts(at)  # their progress was hidden behind "no front photo"
    assert at.get("plotly_chart") and len(at.image) == 1


def test_the_report_pdf_of_one_view_is_not_offered_for_another(data):
    at = _app(data, "report_page.py")
    at.button(key="make_pdf").click().run()
    assert len(at.get("download_button")) == 2  # the PDF and the CSV
    records, me = _practitioner(data)
    (demo,) = records.find_patients(me, "Demo Patient")
    records.set_measured_area(me, demo.id, "front", [(640, 1020), (1000, 1020), (1000, 1400), (640, 1400)])
    for visit in records.sessions(me, demo.id):  # every visit measured again: only the area differs
        if visit.photo("front") is not None:
            assert records.analyze(me, visit.photo("front").id).status == "measured"
    records.close()
    at.run()
    assert len(at.get("download_button")) == 1  # outlined since: that PDF measured the whole skin
    at.button(key="make_pdf").click().run()
    assert len(at.get("download_button")) == 2
    close_up = next(v for v in at.selectbox(key="report_view").options if v.startswith("Close-up"))
    at.selectbox(key="report_view").set_value(close_up.replace("Close-up", "close-up")).run()
    assert not at.exception and len(at.get("download_button")) == 1  # the CSV: make this view's PDF


def test_the_demo_patient_sees_their_charts_and_photos(data):
    at = _app(data, username="demo-patient")
    assert at.title[0].value == "Your skin progress, Demo"
    assert len(at.get("plotly_chart")) == 3
    assert at.slider(key="patient_reveal").value == 50  # before/after of their own photos
    at.button(key="patient_zip").click().run()  # their right of access, without asking the clinic
    assert not at.exception and at.get("download_button")


def test_sign_in_page_refuses_a_wrong_password_then_signs_in(data):
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert at.title[0].value == "Skin progress"
    assert at.text_input[1].placeholder == "Demo clinic: demo-password"  # its accounts are public
    assert not any(t.label == "Clinic name" for t in at.text_input)  # the demo is here: set-up on demand
    set_up = AppTest.from_file(APP, default_timeout=60).run()
    next(b for b in set_up.button if b.label == "New here? Set up your own clinic").click().run()
    assert any(t.label == "Clinic name" for t in set_up.text_input)
    at.text_input[0].set_value("demo-practitioner")
    at.text_input[1].set_value("not the password")
    at.button[0].click().run()
    assert any("Wrong username or password" in e.value for e in at.error)
    assert "actor" not in at.session_state
    at.text_input[1].set_value(DEMO_PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Patients"
    at.sidebar.button(key="sign_out").click().run()
    assert at.title[0].value == "Skin progress" and "actor" not in at.session_state


def test_an_idle_session_is_signed_out(data, monkeypatch):
    at = _app(data)
    from analyzer.dashboard.common import records

    later = records().clock() + dt.timedelta(minutes=31)
    monkeypatch.setattr(records(), "clock", lambda: later)
    at.run()
    assert at.title[0].value == "Skin progress"
    assert any("30 minutes without activity" in i.value for i in at.info)


def test_first_run_asks_for_the_clinic_admin(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYZER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ANALYZER_DATABASE_URL", raising=False)
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert any("Set up your clinic" in h.value for h in at.subheader)
    assert not any("demo" in t.placeholder for t in at.text_input)  # no demo here
    field = {t.label: t for t in at.text_input}
    field["Clinic name"].set_value("Rose Skin Clinic")
    field["Admin username"].set_value("rose")
    field["Password (at least 10 characters)"].set_value("a good long password")
    field["The password again"].set_value("a good long password")
    assert not any(t.label == "Username" for t in at.text_input)  # nobody to sign in yet
    next(b for b in at.button if b.label == "Create the admin account").click().run()
    assert not at.exception
    assert at.title[0].value == "Patients"
    assert any("**rose** · admin · Rose Skin Clinic" in c.value for c in at.sidebar.caption)
    again = AppTest.from_file(APP, default_timeout=60).run()  # another browser: no second set-up
    assert not any("Set up your clinic" in h.value for h in again.subheader)


def test_a_clinic_waiting_for_its_first_admin_is_not_offered_to_the_first_visitor(data):
    records, me = _practitioner(data)
    records.create_clinic(Actor.system("invite"), "Rose Clinic")  # python -m analyzer invite --clinic ...
    records.close()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and not any("Set up your clinic" in h.value for h in at.subheader)
    assert any("python -m analyzer invite --role admin" in i.value for i in at.info)


def test_a_patient_actor_is_refused_other_records_in_the_data_layer(data):
    records, me = _practitioner(data)
    (demo,) = records.find_patients(me, "Demo Patient")
    other = records.create_patient(me, name="Other Person")
    patient = records.sign_in("demo-patient", DEMO_PASSWORD)
    with pytest.raises(Forbidden):
        records.timeline(patient, other.id)
    assert records.audit(me, action="denied")[0].who == "demo-patient"
    records.close()


def test_an_unreachable_database_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYZER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ANALYZER_DATABASE_URL", f"postgresql+psycopg://nobody@/x?host={tmp_path}/nowhere")
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "clinic records cannot be opened" in at.error[0].value


def test_a_missing_stored_image_is_explained(data):
    records, me = _practitioner(data)
    (demo,) = records.find_patients(me, "Demo Patient")
    baseline = records.baseline(me, demo.id, "front")
    records.store.delete(baseline.sha256)
    records.close()
    at = _app(data, "compare_page.py")
    assert any("stored image is missing" in e.value for e in at.error)


def test_a_patient_erased_while_their_page_was_open_is_explained(data, monkeypatch):
    def erased(self, actor, patient_id, view="front"):
        raise NotFound(f"no patient {patient_id}")  # another admin erased them after the list was read

    monkeypatch.setattr(Records, "timeline", erased)
    at = _app(data, "progress_page.py")
    assert not at.exception
    assert any("no longer there" in e.value for e in at.error)


@pytest.mark.slow
def test_streamlit_serves_the_dashboard(data):
    """What `make run` starts: the server comes up and answers on its port."""
    with served(data) as url, urllib.request.urlopen(f"{url}/", timeout=5) as r:
        assert r.status == 200
        assert b"<title>" in r.read()


def test_the_admin_sees_the_team_invites_a_practitioner_and_reads_the_audit_log(data):
    at = _app(data, "team_page.py")
    team = at.table[0].value
    assert set(team["Username"]) == {"demo-practitioner", "demo-patient"}
    at.button(key="invite_team").click().run()
    assert not at.exception and any("shown only now" in s.value for s in at.success)
    code = at.code[0].value

    doctor = _redeem(code, "dr.new", "doctor's password")
    assert doctor.title[0].value == "Patients" and not doctor.exception
    for page in ("team_page.py", "audit_page.py"):  # the admin's, not a practitioner's
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            doctor.switch_page(PAGES + page)

    at.switch_page(PAGES + "audit_page.py").run()
    log = _table(at, "Did")
    assert {"used an invite", "made an invite", "signed in"} <= set(log["Did"])
    assert "dr.new" in set(log["Who"])


def test_a_user_changes_their_password(data):
    at = _app(data, "account_page.py", username="demo-patient")
    at.text_input[0].set_value(DEMO_PASSWORD)
    at.text_input[1].set_value("my own new password")
    at.text_input[2].set_value("my own new password")
    at.button[0].click().run()
    assert any("Password changed" in s.value for s in at.success)
    records = Records.open(_settings(data))
    assert records.sign_in("demo-patient", "my own new password").role == "patient"
    records.close()
