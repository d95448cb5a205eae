"""End to end, in a real browser: the dashboard served by Streamlit, driven by headless Chromium.

On first run the clinic's admin sets up their account, adds a patient, records
two sessions with photos, sees the comparison and the progress chart, and
invites the patient. The patient creates their account with the invite code,
sees their own progress and nothing of anyone else, and cannot reach a
practitioner's page by its address. Screenshots go to ``tests/artifacts/e2e/``
(look at them).

Needs Debian's ``chromium`` (``make test`` installs it: tools/test_services.sh).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from served import served

from analyzer.records import Actor, Records, Settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "tests" / "artifacts" / "e2e"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 120_000
ADMIN = ("Rose Skin Clinic", "rose", "rose's long password")
PATIENT = ("eileen", "eileen's long password")
INVITES: dict[str, str] = {}  # what the practitioner's test hands to the patient's


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The dashboard on a free port, with empty records in a temporary data folder."""
    data = tmp_path_factory.mktemp("clinic")
    with served(data) as url:
        yield url, data


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium not found: run `make test` (it installs Debian's chromium package)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


def _page(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    return page


def _settle(page) -> None:
    """Wait until Streamlit has finished running the script (no 'Running...' status)."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=TIMEOUT_MS)
    page.wait_for_timeout(300)


def _shot(page, name: str, locator=None) -> None:
    if locator is not None:
        locator.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _nav(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    _settle(page)


def _set_date(page, label: str, day: dt.date) -> None:
    """Type a date into Streamlit's date field, segment by segment (year, month, day)."""
    for part, value in (("year", f"{day.year}"), ("month", f"{day.month:02d}"), ("day", f"{day.day:02d}")):
        page.get_by_role("spinbutton", name=f"{part}, {label}").click()
        page.keyboard.type(value)
    page.keyboard.press("Tab")
    _settle(page)


def _record_session(page, day: dt.date, depth: str, photos: list[Path]) -> None:
    _nav(page, "New session")
    _set_date(page, "Date", day)
    depth_box = page.get_by_label("Needle depth (mm)", exact=True).and_(page.get_by_role("spinbutton"))
    depth_box.fill(depth)
    depth_box.press("Enter")
    _settle(page)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files([str(p) for p in photos])
    page.get_by_text("good photo").first.wait_for()
    _settle(page)
    page.get_by_role("button", name="Save session").click()
    page.get_by_text("Saved the session of").wait_for(timeout=TIMEOUT_MS)
    _settle(page)


def _draw_area(page, outline: list[tuple[float, float]]) -> None:
    """Open the Compare page's measured area and trace ``outline`` (fractions of the photo) with the mouse."""
    page.get_by_text("Measured area: the whole skin").click()
    _settle(page)
    photo = page.locator(".js-plotly-plot .nsewdrag").first
    photo.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = photo.bounding_box()
    points = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in outline]
    page.mouse.move(*points[0])
    page.mouse.down()
    for x, y in [*points[1:], points[0]]:
        page.mouse.move(x, y, steps=10)
    page.mouse.up()
    _settle(page)


def _fill(page, label: str, value: str) -> None:
    page.get_by_label(label, exact=True).fill(value)


def test_practitioner_records_two_sessions_and_sees_the_change(server, browser):
    url, data = server
    page = _page(browser, url)
    page.get_by_text("Set up your clinic").wait_for()
    _settle(page)
    _shot(page, "0-first-run")
    clinic, username, password = ADMIN
    _fill(page, "Clinic name", clinic)
    _fill(page, "Admin username", username)
    _fill(page, "Password (at least 10 characters)", password)
    _fill(page, "The password again", password)
    page.get_by_role("button", name="Create the admin account").click()
    page.get_by_role("heading", name="Patients").wait_for()
    _settle(page)
    name = page.get_by_label("Name", exact=True)  # the form is open while there are no patients
    name.wait_for(state="visible")
    name.fill("Eileen Example")
    page.get_by_label("or year of birth").fill("1981")
    page.get_by_text("Consents to photography for treatment records").click()
    page.get_by_role("button", name="Add patient").click()
    page.get_by_text("Added Eileen Example").wait_for()
    _settle(page)
    _shot(page, "1-patient-added")

    demo = ROOT / "sample_images"
    _record_session(page, dt.date(2026, 3, 2), "1.0", [demo / "session1_front.jpg",
                                                         demo / "session1_left-cheek.jpg"])
    _shot(page, "2-first-session-saved")
    _record_session(page, dt.date(2026, 6, 22), "1.5", [demo / "session5_front.jpg"])

    _nav(page, "Compare")
    page.get_by_text("registration score").wait_for()
    _shot(page, "3-compare-slider")
    caption = page.get_by_text(re.compile(r"registration score \d\.\d\d")).inner_text()
    assert float(re.search(r"score (\d\.\d\d)", caption).group(1)) > 0.5
    _shot(page, "4-compare-measured-change", page.get_by_text("Measured change"))
    _draw_area(page, [(0.31, 0.36), (0.46, 0.35), (0.47, 0.47), (0.38, 0.50), (0.31, 0.46)])
    page.get_by_role("button", name="Measure inside this outline").click()
    page.get_by_text("Measured area: the outline drawn on the baseline").wait_for(timeout=TIMEOUT_MS)
    _settle(page)
    page.get_by_text("Measured on the skin inside the area outlined").wait_for()
    page.get_by_text("Measured area: the outline drawn on the baseline").click()  # open it again
    _settle(page)
    _shot(page, "4b-compare-measured-area", page.locator(".js-plotly-plot").first)

    _nav(page, "Progress")
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for()
    assert page.locator(".js-plotly-plot .scatterlayer .point").count() >= 2  # the two visits
    _shot(page, "5-progress-chart")

    _nav(page, "Patients")
    page.get_by_text("Patient's own access").click()
    _settle(page)
    page.get_by_role("button", name="Create an invite code").click()
    page.get_by_text("Invite code (shown only now").wait_for()
    _settle(page)
    _shot(page, "6-invite-code")
    INVITES["eileen"] = page.locator("[data-testid='stCode']").first.inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", INVITES["eileen"])

    _nav(page, "Audit log")
    page.locator("[data-testid='stDataFrame']").wait_for()
    _shot(page, "7-audit-log")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    page.close()


def test_a_patient_sees_only_their_own_progress(server, browser):
    url, data = server
    if "eileen" not in INVITES:
        pytest.fail("needs the invite from test_practitioner_records_two_sessions_and_sees_the_change")
    records = Records.open(Settings(data, f"sqlite:///{data / 'analyzer.sqlite3'}"))
    system = Actor.system("tests")
    (clinic_id, *_), = records.clinics(system)
    other = records.create_patient(system, name="Someone Else Entirely", photo_consent=True,
                                   clinic_id=clinic_id)
    records.add_session(system, other.id, started_at=dt.datetime(2026, 1, 5, 9, 0))
    records.close()

    username, password = PATIENT
    page = _page(browser, f"{url}/?invite={INVITES['eileen']}")
    page.get_by_text("Create your account").wait_for()
    _fill(page, "Choose a username", username)
    _fill(page, "Choose a password", password)
    _fill(page, "The password again", password)
    page.get_by_role("button", name="Create account and sign in").click()
    page.get_by_text("Your skin progress").wait_for()
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 3",
                           timeout=TIMEOUT_MS)
    page.get_by_role("img").first.wait_for()
    _settle(page)
    _shot(page, "8-patient-view")
    body = page.inner_text("body")
    assert "Someone Else" not in body and "Patients" not in body and "New session" not in body
    nav = page.get_by_test_id("stSidebarNav").inner_text()
    assert "My progress" in nav and "Compare" not in nav and "Audit" not in nav

    # practitioners' pages by address: a new browser session, which must sign in first; signing in
    # as the patient there leads to their own progress, never to the page asked for
    for path in ("/patients_page", "/compare_page", "/report_page", "/team_page", "/audit_page"):
        page.goto(f"{url}{path}")
        page.get_by_role("button", name="Sign in").wait_for()
        _settle(page)
        if path == "/compare_page":
            _shot(page, "9-practitioner-page-by-address")
        assert "Someone Else" not in page.inner_text("body") and "Eileen" not in page.inner_text("body")
        page.keyboard.press("Escape")  # Streamlit's "page not found" notice
        _settle(page)
        _fill(page, "Username", username)
        _fill(page, "Password", password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Your skin progress").wait_for()
        _settle(page)
        body = page.inner_text("body")
        assert "Someone Else" not in body and "registration score" not in body, path
        assert "Search by name" not in body and "Audit log" not in body, path

    # the invite is used up, and a signed-out session is gone
    page.goto(f"{url}/?invite={INVITES['eileen']}")
    page.get_by_text("Create your account").wait_for()
    _fill(page, "Choose a username", "someone.else")
    _fill(page, "Choose a password", "another long password")
    _fill(page, "The password again", "another long password")
    page.get_by_role("button", name="Create account and sign in").click()
    page.get_by_text("This invite code is not valid").wait_for()
    page.close()


def test_the_patient_chosen_is_the_one_every_page_records_for(server, browser):
    """Added, or picked in the sidebar: the next page is that patient's, not the list's first one."""
    url, _ = server
    page = _page(browser, url)
    clinic, username, password = ADMIN
    _fill(page, "Username", username)
    _fill(page, "Password", password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Patients").wait_for()
    _settle(page)
    page.get_by_text("Add a patient").click()
    _settle(page)
    _fill(page, "Contraindications and cautions", "keloid tendency")
    page.get_by_text("Consents to photography for treatment records").click()
    page.get_by_role("button", name="Add patient").click()  # no name yet
    page.get_by_text("the patient needs a name").wait_for()
    _settle(page)
    # what was typed stays to be put right (the form had been cleared)
    assert page.get_by_label("Contraindications and cautions").input_value() == "keloid tendency"
    page.get_by_label("Name", exact=True).fill("Frank Second")
    page.get_by_role("button", name="Add patient").click()
    page.get_by_text("Added Frank Second").wait_for()
    _settle(page)
    _nav(page, "New session")
    page.get_by_text("For Frank Second").wait_for()  # had been the list's first patient's page
    assert "keloid tendency" in page.inner_text("body")  # the consent was kept too: photos may be added
    assert page.locator("[data-testid='stFileUploaderDropzoneInput']").is_enabled()
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name=re.compile("Eileen Example")).click()
    _settle(page)
    for title in ("Progress", "Compare", "Report"):  # then back: still Eileen's visit to record
        _nav(page, title)
        _nav(page, "New session")
        page.get_by_text("For Eileen Example").wait_for()
    _shot(page, "10-chosen-patient-kept")
    page.close()
