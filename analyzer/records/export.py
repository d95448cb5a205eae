"""One patient's whole record as a ZIP: their right of access, in formats anyone can open.

Contents:

``README.txt``
    What the files are.
``record.json``
    The patient, every visit, every photo's details and quality report, and
    every analysis (metrics, change vs baseline, alignment), with the
    algorithm version that measured them, and the outline each view is
    measured over when a practitioner drew one (``measured_areas``).
``metrics.csv``
    One row per visit, view and metric: value, change vs the baseline and
    whether it is beyond measurement noise.
``photos/<date>_<session>_<view>.png``
    The stored photos (clean re-encodings: no EXIF or GPS metadata); ``-<photo id>``
    after the view when two close-ups' names differ only in punctuation.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import unicodedata
import zipfile
from dataclasses import asdict
from typing import BinaryIO

from analyzer.metrics import info
from analyzer.records.access import Actor
from analyzer.records.analysis import version
from analyzer.records.repository import Records

__all__ = ["export_patient", "metrics_csv"]

_README = """\
Your skin-treatment record, exported on {date}.

record.json   everything recorded about you: your details, each visit (treatment,
              needle depth, notes), each photo's details and capture check, and the
              measurements of each photo against your first (baseline) photo.
metrics.csv   the measurements as a table: one row per visit, photo view and
              measurement, with the change since your first visit, the noise limit
              it was judged against ("noise_limit": how much the measurement moves
              between repeat photos of unchanged skin, wider when a photo's light
              or compression differed more; blank: not judged) and whether the
              change is larger than that ("significant").
photos/       your photos, as stored (no location or camera data).

Measurements: algorithm version {version}. Blank values could not be measured.
"""


def export_patient(records: Records, actor: Actor, patient_id: int, out: BinaryIO) -> None:
    """Write ``patient_id``'s full record to ``out`` as a ZIP (see the module doc); logged as an audit event.

    ``actor`` must be allowed to see the record (a patient may export their own).

    Only analyses already in the records are included (run
    ``python -m analyzer reanalyze`` first for an up-to-date export).
    """
    patient = records.patient(actor, patient_id)
    sessions = records.sessions(actor, patient_id)
    record = {"exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "algorithm_version": version(), "patient": asdict(patient), "sessions": [],
              "measured_areas": {}}
    for view in records.views(actor, patient_id):
        outline = records.measured_area(actor, patient_id, view)
        if outline is not None:  # x, y on the baseline photo's pixels; views not listed: the whole skin
            record["measured_areas"][view] = outline
    rows = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for session in sessions:
            entry = asdict(session)
            entry["photos"] = []
            for photo in session.photos:
                stem = f"photos/{session.started_at:%Y-%m-%d}_{session.id}_{_slug(photo.view)}"
                # close-ups named apart only by punctuation ("left cheek", "left-cheek") share a slug
                name = f"{stem}.png" if f"{stem}.png" not in z.namelist() else f"{stem}-{photo.id}.png"
                z.writestr(zipfile.ZipInfo(name, date_time=session.started_at.timetuple()[:6]),
                           records.store.get(photo.sha256), compress_type=zipfile.ZIP_STORED)
                a = records.analysis(actor, photo.id)
                photo_entry = {**asdict(photo), "file": name, "analysis": None}
                if a is not None:
                    photo_entry["analysis"] = {"status": a.status, "message": a.message,
                                               "baseline_photo_id": a.baseline_id,
                                               "algorithm_version": a.algorithm_version,
                                               "metrics": a.values, "change_vs_baseline": a.delta,
                                               "significant": a.significant, "noise_limits": a.limits,
                                               "details": a.result}
                    rows.extend(_metric_rows(session, photo.view, a))
                entry["photos"].append(photo_entry)
            record["sessions"].append(entry)
        z.writestr("record.json", json.dumps(record, indent=2, default=_default, ensure_ascii=False))
        z.writestr("metrics.csv", _csv(rows))
        z.writestr("README.txt", _README.format(date=dt.date.today().isoformat(), version=version()))
    records.log(actor, "export", patient_id, sessions=len(sessions))


def metrics_csv(records: Records, actor: Actor, patient_id: int) -> str:
    """The patient's measurements as CSV (the ZIP's ``metrics.csv``): one row per visit, view and metric."""
    rows = []
    for session in records.sessions(actor, patient_id):
        for photo in session.photos:
            a = records.analysis(actor, photo.id)
            if a is not None:
                rows.extend(_metric_rows(session, photo.view, a))
    return _csv(rows)


def _metric_rows(session, view: str, a) -> list[list]:
    delta, significant = a.delta, a.significant
    rows = []
    for key, value in sorted(a.values.items()):
        zone, metric = _split(key)
        meta = info(metric)
        when = session.started_at.isoformat(sep=" ", timespec="minutes")
        rows.append([when, session.id, view, zone or "all", metric, meta.label, meta.unit, _num(value),
                     _num(delta.get(key)), _num(a.limits.get(key)),
                     "" if key not in significant else ("yes" if significant[key] else "no")])
    return rows


def _csv(rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["session_date", "session_id", "view", "zone", "metric", "label", "unit", "value",
                "change_vs_baseline", "noise_limit", "significant"])
    w.writerows(rows)
    return buf.getvalue()


def _split(key: str) -> tuple[str | None, str]:
    if key.startswith("zone."):
        _, zone, metric = key.split(".", 2)
        return zone, metric
    return None, key


def _num(value) -> str:
    return "" if value is None else f"{value:.6g}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def name_slug(name: str, max_chars: int = 60) -> str:
    """A patient's name as a file name's part: its letters, marks and digits in any script, lower
    case, everything else one hyphen ("Ana O'Neil" -> "ana-o-neil", "प्रिया" kept whole); "patient"
    when nothing is left."""
    name = unicodedata.normalize("NFC", name)
    kept = "".join(ch if unicodedata.category(ch)[0] in "LMN" else "-" for ch in name)
    slug = re.sub(r"-+", "-", kept.lower()).strip("-")[:max_chars].strip("-")
    return slug or "patient"


def _default(value):
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")
