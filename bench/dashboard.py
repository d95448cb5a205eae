"""Benchmark: how fast the dashboard's pages appear in a real browser (target: first page under 2 s).

Builds clinic records with the demo patient (every photo analysed, as ``make
run`` does) and a patient with 50 visits (real analyses of the demo's front
photos, reused), serves the dashboard with Streamlit, and times in headless
Chromium, from navigation to the page's content drawn and Streamlit idle:
the first page (Patients), Progress and Compare for the demo patient, and
Progress for the 50-visit patient. Median of ``--repeats`` fresh page loads
(each a new browser session: nothing cached in the page).

    python bench/dashboard.py [--repeats 5]

Needs Debian's chromium (``make test`` installs it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from analyzer.records import PhotoUpload, Records, Settings, reanalyze
from analyzer.records import analysis as analysis_module
from analyzer.records.demo import DEMO_PASSWORD, import_demo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from served import served  # noqa: E402 -- the tests' way to serve the dashboard

DEMO = ROOT / "sample_images"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _build(folder: Path) -> tuple[int, int]:
    records = Records.open(Settings(folder, f"sqlite:///{folder / 'analyzer.sqlite3'}"))
    demo = import_demo(records, DEMO)
    reanalyze(records, progress=False)
    me = records.sign_in("demo-practitioner", DEMO_PASSWORD)
    fronts = [(DEMO / f"session{i}_front.jpg").read_bytes() for i in range(1, 6)]
    many = records.create_patient(me, name="Fifty Visits", birth_year=1970, photo_consent=True)
    outcomes = {}
    for k in range(50):
        s = records.add_session(me, many.id,
                                started_at=dt.datetime(2023, 1, 2, 9) + dt.timedelta(days=14 * k),
                                needle_depth_mm=1.0 + 0.25 * (k % 3), photos=[PhotoUpload(fronts[k % 5])])
        photo = s.photos[0]
        base = records.baseline(me, many.id, "front")
        if photo.id == base.id:
            records.analyze(me, photo.id)
            continue
        if k % 5 not in outcomes:
            outcomes[k % 5] = analysis_module.run(records.store.get(photo.sha256),
                                                  records.store.get(base.sha256))
        records.save_analysis(me, photo.id, base.id, outcomes[k % 5])
    records.close()
    return demo.id, many.id, me


_REFERENCE = """import streamlit as st
st.title("Reference")
st.table([{"a": 1, "b": 2}])
"""


def _load_ms(context, url: str, ready: str) -> float:
    """ms from navigation until ``ready`` (a CSS selector) is drawn and Streamlit is idle."""
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    page.locator(ready).first.wait_for(timeout=120_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=120_000)
    elapsed = (time.perf_counter() - start) * 1000
    page.close()
    return elapsed


def _signed_in_ms(browser, url: str, steps, repeats: int) -> list[tuple[str, float, float]]:
    """Median ms of each step of a signed-in visit: sign in (until the Patients table is drawn),
    then each ``(label, link text, ready selector)`` opened from the sidebar, in the same session.
    Each as (label, new browser, returning browser)."""
    fresh, cached = [], []
    returning = browser.new_context(viewport={"width": 1400, "height": 1000})
    for k in range(repeats + 1):
        for context, out in ((browser.new_context(viewport={"width": 1400, "height": 1000}), fresh),
                             (returning, cached)):
            page = context.new_page()
            page.goto(url)
            page.get_by_label("Username", exact=True).fill("demo-practitioner")
            page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
            row = [_timed(page, page.get_by_role("button", name="Sign in"), "[data-testid='stTable']")]
            for _, link, ready in steps:
                row.append(_timed(page, page.get_by_role("link", name=link), ready))
            page.close()
            if context is not returning:
                context.close()
            if k:  # the first round warms the server's caches
                out.append(row)
    returning.close()
    labels = ["sign in, until Patients is drawn", *(label for label, _, _ in steps)]
    return [(label, statistics.median(r[i] for r in fresh), statistics.median(r[i] for r in cached))
            for i, label in enumerate(labels)]


def _timed(page, target, ready: str) -> float:
    """ms from clicking ``target`` until ``ready`` is drawn and Streamlit is idle."""
    start = time.perf_counter()
    target.click()
    page.locator(ready).first.wait_for(timeout=120_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=120_000)
    return (time.perf_counter() - start) * 1000


def _times(browser, url: str, ready: str, repeats: int) -> tuple[float, float]:
    """Median ms of fresh loads: (new browser profile: assets downloaded, returning browser: cached)."""
    fresh = []
    for _ in range(repeats):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        fresh.append(_load_ms(context, url, ready))
        context.close()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    _load_ms(context, url, ready)
    cached = [_load_ms(context, url, ready) for _ in range(repeats)]
    context.close()
    return statistics.median(fresh), statistics.median(cached)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        folder = Path(tmp)
        print("building records: the demo patient and a 50-visit patient ...", file=sys.stderr)
        t0 = time.perf_counter()
        demo_id, many_id, me = _build(folder)
        print(f"  built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        reference = folder / "reference.py"
        reference.write_text(_REFERENCE)
        with served(folder) as url, served(folder, reference) as ref_url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            context = browser.new_context()
            form = "[data-testid='stTextInput'] input"
            first_ms = _load_ms(context, url + "/", form)
            context.close()
            table = "[data-testid='stTable']"
            cases = [
                ("reference: a Streamlit page with a title and a table", ref_url + "/", table),
                ("first page (sign-in)", url + "/", form),
            ]
            results = [(label, *_times(browser, page_url, ready, args.repeats))
                       for label, page_url, ready in cases]
            results += _signed_in_ms(browser, url + "/", [
                ("then Progress, demo patient (7 visits)", "Progress", ".js-plotly-plot"),
                ("then Compare, demo patient", "Compare", "[data-testid='stImage'] img"),
            ], args.repeats)
            browser.close()
        # the 50-visit patient: the pages' own work, timed in-process (AppTest), as a browser cannot
        # pick a patient before the page loads without a click that would be timed too
        from streamlit.testing.v1 import AppTest

        os.environ["ANALYZER_DATA_DIR"] = str(folder)
        many = []
        for page in ("progress_page.py", "compare_page.py"):
            times = []
            for _ in range(args.repeats):
                at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
                at.session_state["patient_id"] = many_id
                at.session_state["actor"] = me
                at.run()
                start = time.perf_counter()
                at.switch_page(f"analyzer/dashboard/{page}").run()
                times.append((time.perf_counter() - start) * 1000)
                assert not at.exception, at.exception
            many.append((page.removesuffix("_page.py").capitalize(), statistics.median(times)))

    print(f"dashboard in headless Chromium, software rendering (median of {args.repeats} page loads):")
    print(f"  very first load after the server starts: {first_ms:.0f} ms")
    print(f"  {'':54s} {'new browser':>12s} {'returning':>10s}")
    for label, fresh, cached in results:
        print(f"  {label:54s} {fresh:9.0f} ms {cached:7.0f} ms")
    print("  (target: first page under 2000 ms)")
    print(f"patient with 50 visits, page script run (AppTest, median of {args.repeats}):")
    for label, ms in many:
        print(f"  {label:40s} {ms:7.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
