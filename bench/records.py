"""Benchmark: how fast the records answer the dashboard, on SQLite (the default).

Builds a patient with 50 visits (front, left and right photos each, every photo
analysed) among 1,000 patients, then times, median of repeated runs in this
process: the front-view timeline (target: under 50 ms), the visit list with
photos, the patient search, and one visit saved with three photos.

The analyses are real: the demo patient's five visits, three views, measured
at half size, then reused round-robin for the 50 visits (the timeline reads
their JSON, it does not care which visit measured them).

    python bench/records.py [--sessions 50] [--patients 1000] [--repeats 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
from PIL import Image

from analyzer import load_image
from analyzer.records import PhotoUpload, Records, Settings
from analyzer.records import analysis as analysis_module

DEMO = Path(__file__).resolve().parents[1] / "sample_images"
VIEWS = {"front": "front", "left": "left-cheek", "right": "right-cheek"}


def _jpeg(path: Path, scale: float) -> bytes:
    image = cv2.resize(load_image(path), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=92)
    return buf.getvalue()


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-records-") as tmp:
        settings = Settings(Path(tmp), f"sqlite:///{Path(tmp) / 'analyzer.sqlite3'}")
        records = Records.open(settings)
        me = records.set_up(clinic_name="Bench clinic", username="bench", password="bench password")
        print(f"building: {args.sessions} visits x 3 views, {args.patients} patients ...", file=sys.stderr)
        photos = {view: [_jpeg(DEMO / f"session{i}_{name}.jpg", 0.5) for i in range(1, 6)]
                  for view, name in VIEWS.items()}
        outcomes = {}
        for view in VIEWS:
            pngs = [_png(p) for p in photos[view]]
            outcomes[view] = [analysis_module.run(pngs[0], None)] + [analysis_module.run(p, pngs[0])
                                                                     for p in pngs[1:]]
        patient = records.create_patient(me, name="Bench Patient", birth_year=1975, photo_consent=True)
        start = dt.datetime(2025, 1, 6, 9, 0)
        save_times = []
        for k in range(args.sessions):
            t0 = time.perf_counter()
            session = records.add_session(me,
                patient.id, started_at=start + dt.timedelta(days=28 * k), device="Dermapen 4",
                needle_depth_mm=1.0 + 0.25 * (k % 3), zones=["cheeks", "forehead"],
                photos=[PhotoUpload(photos[v][k % 5], v) for v in VIEWS])
            save_times.append(time.perf_counter() - t0)
            for photo in session.photos:
                base = records.baseline(me, patient.id, photo.view)
                records.save_analysis(me, photo.id, base.id, outcomes[photo.view][0 if k == 0 else 1 + k % 4])
        for i in range(args.patients - 1):
            records.create_patient(me, name=f"Patient {i:04d} Example", birth_year=1950 + i % 50)
        records.close()

        cold = Records.open(settings)
        t0 = time.perf_counter()
        timeline = cold.timeline(me, patient.id, "front")
        first_ms = (time.perf_counter() - t0) * 1000
        assert len(timeline.points) == args.sessions and all(p.status == "measured" for p in timeline.points)
        timeline_ms = _median_ms(lambda: cold.timeline(me, patient.id, "front"), args.repeats)
        sessions_ms = _median_ms(lambda: cold.sessions(me, patient.id), args.repeats)
        search_ms = _median_ms(lambda: cold.find_patients(me, "example 00"), args.repeats)
        list_ms = _median_ms(lambda: cold.find_patients(me), args.repeats)
        cold.close()

    print(f"records on SQLite, {args.sessions} visits x 3 photos, {args.patients} patients "
          f"(median of {args.repeats}):")
    print(f"  timeline, front view ({args.sessions} points with metrics): {timeline_ms:7.1f} ms "
          f"(first call after opening: {first_ms:.1f} ms; target < 50 ms)")
    print(f"  visits with photos:                        {sessions_ms:7.1f} ms")
    print(f"  patient search ('example 00'):             {search_ms:7.1f} ms")
    print(f"  patient list (first 200 of {args.patients}):          {list_ms:7.1f} ms")
    print(f"  saving a visit with 3 photos (1200 px, decode + check + store): "
          f"{statistics.median(save_times) * 1000:.0f} ms median")
    return 0


def _png(jpeg: bytes) -> bytes:
    from analyzer.images import to_png_bytes

    return to_png_bytes(load_image(jpeg))


if __name__ == "__main__":
    raise SystemExit(main())
