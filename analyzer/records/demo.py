"""The demo patient (``sample_images/``) as clinic records, for ``make run``, benchmarks and tests.

The demo lives in its own clinic, marked as demo (every page says so), with two
accounts whose password is public: ``demo-practitioner`` (the demo clinic's
admin) and ``demo-patient`` (the demo patient). Clinics see only their own
patients, so these accounts reach nothing but the synthetic demo patient even
in a data folder that also holds a real clinic.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from analyzer.images import InvalidImage, load_photo
from analyzer.records.access import Actor, RecordError
from analyzer.records.repository import Records
from analyzer.records.views import PatientRecord, PhotoUpload

__all__ = ["DEMO_ACCOUNTS", "DEMO_CLINIC", "DEMO_NAME", "DEMO_PASSWORD", "import_demo"]

DEMO_NAME = "Demo Patient"
DEMO_CLINIC = "Demo clinic"
DEMO_PASSWORD = "demo-password"  # public on purpose: the demo clinic holds synthetic data only
DEMO_ACCOUNTS = {"demo-practitioner": "admin", "demo-patient": "patient"}
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6}
_TREATMENT = {"treatment": None, "follow-up": "follow-up photos", "review": "review"}


def import_demo(records: Records, folder: Path, *, accounts: bool = True) -> PatientRecord:
    """Add the demo clinic and course in ``folder`` (``manifest.json`` and photos) once.

    Idempotent: the demo clinic's patient named :data:`DEMO_NAME` is made once, and
    its accounts (:data:`DEMO_ACCOUNTS`, password :data:`DEMO_PASSWORD`) once, when
    ``accounts``. Every photo is read first: an unreadable one raises
    :class:`RecordError` naming it, and nothing is added. Close-up views
    ``left-cheek`` become ``close-up: left cheek``. Returns the demo patient.
    """
    system = Actor.system("demo")
    clinic_id = (records.find_clinic(system, DEMO_CLINIC)
                 or records.create_clinic(system, DEMO_CLINIC, demo=True))
    patient = _find(records, system, clinic_id) or _add_course(records, system, clinic_id, folder)
    if accounts:
        taken = {u.username for u in records.users(system)}
        for username, role in DEMO_ACCOUNTS.items():
            if username not in taken:
                invite = records.invite(system, role=role, clinic_id=clinic_id,
                                        patient_id=patient.id if role == "patient" else None)
                signed_in = records.redeem_invite(invite.code, username=username, password=DEMO_PASSWORD)
                records.sign_out(signed_in)
    return patient


def _find(records: Records, system: Actor, clinic_id: int) -> PatientRecord | None:
    for found in records.find_patients(system, DEMO_NAME):
        patient = records.patient(system, found.id)
        if patient.name == DEMO_NAME and patient.clinic_id == clinic_id:
            return patient
    return None


def _add_course(records: Records, system: Actor, clinic_id: int, folder: Path) -> PatientRecord:
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
        system, name=DEMO_NAME, birth_year=info.get("year_of_birth"),
        fitzpatrick=_ROMAN.get(info.get("fitzpatrick_type")),
        contraindications="", photo_consent=True, consent_date=first, clinic_id=clinic_id)
    for visit in manifest["sessions"]:
        photos = [PhotoUpload((folder / name).read_bytes(), _view(view), name)
                  for view, name in visit["photos"].items()]
        treatment = _TREATMENT[visit["kind"]] or visit.get("treatment") or "microneedling"
        records.add_session(
            system, patient.id, started_at=dt.datetime.fromisoformat(visit["date"]), treatment=treatment,
            device=manifest.get("device", "") if visit.get("needle_depth_mm") else "",
            needle_depth_mm=visit.get("needle_depth_mm"),
            zones=manifest.get("zones_treated", []) if visit.get("needle_depth_mm") else [],
            notes=f"demo session {visit['session']} ({visit['kind']})", photos=photos)
    return patient


def _view(name: str) -> str:
    return name if name in ("front", "left", "right") else f"close-up: {name.replace('-', ' ')}"
