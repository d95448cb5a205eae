"""The demo patient (``sample_images/``) as clinic records, for ``make run``, benchmarks and tests."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from analyzer.images import InvalidImage, load_photo
from analyzer.records.repository import RecordError, Records
from analyzer.records.views import PatientRecord, PhotoUpload

__all__ = ["DEMO_NAME", "import_demo"]

DEMO_NAME = "Demo Patient"
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6}
_TREATMENT = {"treatment": None, "follow-up": "follow-up photos", "review": "review"}


def import_demo(records: Records, folder: Path) -> PatientRecord:
    """Add the demo course in ``folder`` (``manifest.json`` and photos) once; returns the demo patient.

    Idempotent: if a patient named :data:`DEMO_NAME` exists, nothing is added. Every
    photo is read first: an unreadable one raises :class:`RecordError` naming it, and
    nothing is added.
    Close-up views ``left-cheek`` become ``close-up: left cheek``.
    """
    found = [p for p in records.find_patients(DEMO_NAME) if p.name == DEMO_NAME]
    if found:
        return records.patient(found[0].id)
    manifest = json.loads((folder / "manifest.json").read_text())
    for visit in manifest["sessions"]:  # every photo readable before anything is added
        for name in visit["photos"].values():
            try:
                load_photo(folder / name)
            except InvalidImage as err:
                raise RecordError(f"{name}: {err}") from None
    info = manifest["patient"]
    first = dt.datetime.fromisoformat(manifest["sessions"][0]["date"]).date()
    patient = records.create_patient(
        name=DEMO_NAME, birth_year=info.get("year_of_birth"),
        fitzpatrick=_ROMAN.get(info.get("fitzpatrick_type")),
        contraindications="", photo_consent=True,
        consent_date=first)
    for visit in manifest["sessions"]:
        photos = [PhotoUpload((folder / name).read_bytes(), _view(view), name)
                  for view, name in visit["photos"].items()]
        treatment = _TREATMENT[visit["kind"]] or visit.get("treatment") or "microneedling"
        records.add_session(
            patient.id, started_at=dt.datetime.fromisoformat(visit["date"]), treatment=treatment,
            device=manifest.get("device", "") if visit.get("needle_depth_mm") else "",
            needle_depth_mm=visit.get("needle_depth_mm"),
            zones=manifest.get("zones_treated", []) if visit.get("needle_depth_mm") else [],
            notes=f"demo session {visit['session']} ({visit['kind']})", photos=photos)
    return patient


def _view(name: str) -> str:
    return name if name in ("front", "left", "right") else f"close-up: {name.replace('-', ' ')}"
