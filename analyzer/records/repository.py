"""The clinic's records: every read and write the dashboard and the command line make.

:class:`Records` joins the database (:mod:`analyzer.records.db`) and the
image store (:mod:`analyzer.records.store`) and keeps them consistent:

- **Nothing half-written.** A visit and its photos are saved in one
  transaction, after every photo has been decoded, checked and re-encoded;
  the store's blobs are written first and removed again if the transaction
  fails, so a bad photo, a crash or a full disk leaves both as they were.
- **Analyses are a cache** keyed by (photo, baseline photo, algorithm
  version, measured area): computed once, recomputed only when one of those
  changes. A view is measured over its whole skin, or over an outline a
  practitioner drew on its baseline (:meth:`Records.set_measured_area`).
- **Erasure is complete.** Deleting a patient deletes their rows and then
  every blob no other record uses.
- **Every call names who acts** (an :class:`~analyzer.records.access.Actor`,
  first argument) and is refused (:class:`~analyzer.records.access.Forbidden`,
  audited) when that user may not see or change the record; staff are told
  another clinic's record is missing (:class:`~analyzer.records.access.NotFound`,
  audited), as of an id nobody has. A signed-out actor can do nothing
  (:class:`~analyzer.records.access.SignInRefused`).
  Accounts, invites and the audit log: :mod:`analyzer.records.accounts`.

Limitation: the "remove blobs of a failed upload" step is safe against other
threads of this process (one lock); between processes sharing a store, an
identical photo uploaded by two processes in the same instant could lose its
blob if one of them fails. :meth:`Records.sweep_orphans` removes blobs left by
a process killed mid-upload.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import defer, selectinload

from analyzer.images import InvalidImage, load_image, load_photo, to_png_bytes
from analyzer.quality import QualityReport, assess
from analyzer.records import access, db
from analyzer.records import analysis as _analysis
from analyzer.records.access import Actor, NotFound, RecordError
from analyzer.records.accounts import AccountsMixin
from analyzer.records.models import Analysis, DerivedImage, MeasuredArea, Patient, Photo, Session, utcnow
from analyzer.records.settings import Settings
from analyzer.records.store import FolderStore, ImageStore, sha256
from analyzer.records.text import plain
from analyzer.records.views import (
    AnalysisRecord,
    PatientRecord,
    PatientSummary,
    PhotoRecord,
    PhotoUpload,
    SessionRecord,
    Timeline,
    TimelinePoint,
)

__all__ = ["NotFound", "PhotoRefused", "PreparedPhoto", "RecordError", "Records"]

VIEWS = ("front", "left", "right")
_CLOSE_UP = re.compile(r"close-up: [\w' -]{1,40}")
_MAX_DEPTH_MM = 4.0  # deepest microneedling/RF needles are 3.5 mm
_MAX_OUTLINE_POINTS = 5000
_STORE_LOCK = threading.Lock()  # blob writes/removals and the commit that references them


class PhotoRefused(RecordError, InvalidImage):
    """An upload that is not a usable photo: an :class:`analyzer.InvalidImage` naming the file."""


class PreparedPhoto:
    """An upload decoded, checked and re-encoded, ready to save (see :meth:`Records.prepare_photo`).

    Attributes: ``patient_id`` (whose record it was checked for: against that patient's
    baseline, and saved only there), ``view``, ``png`` (clean bytes to store), ``sha256``,
    ``width``, ``height``, ``source_format``, ``captured_at``, ``quality``
    (:class:`analyzer.quality.QualityReport`), ``thumbnail`` (RGB uint8, longer side 480 px),
    ``already`` (the patient's photos with the same pixels: ``(visit time, view)``, oldest
    first; measured against itself a photo shows no change, so this is most likely the wrong file).
    """

    def __init__(self, upload: PhotoUpload, view: str, baseline_quality: QualityReport | None, *,
                 patient_id: int) -> None:
        label = upload.filename or f"the {view} photo"
        self.patient_id = patient_id
        self.label = label
        self.already: list[tuple[dt.datetime, str]] = []
        try:
            loaded = load_photo(upload.data)
        except InvalidImage as err:
            raise PhotoRefused(f"{label}: {err}") from None
        self.view = view
        self.quality = assess(loaded.image, baseline_quality)
        self.png = to_png_bytes(loaded.image)
        self.sha256 = sha256(self.png)
        self.height, self.width = loaded.image.shape[:2]
        scale = min(1.0, 480 / max(self.height, self.width))
        self.thumbnail = cv2.resize(loaded.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        self.source_format = loaded.format
        captured = loaded.captured_at
        self.captured_at = None if captured is None else captured.replace(tzinfo=None)  # camera's wall clock


class Records(AccountsMixin):
    """A clinic's records: patients, sessions, photos, analyses; who may see them.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        From :func:`analyzer.records.db.connect` (migrated).
    store : ImageStore
        Where photo bytes live.
    policy : analyzer.records.access.Policy, optional
        Sign-in limits (idle time, lockout, invite lifetime).

    Use :meth:`open` to get one from the settings (environment).
    """

    def __init__(self, engine: Engine, store: ImageStore, *, data_dir: Path | None = None,
                 policy: access.Policy | None = None) -> None:
        self.engine = engine
        self.store = store
        self.data_dir = data_dir
        self.policy = policy or access.Policy()
        self._writer = engine.execution_options(**db.WRITE)
        self._init_accounts()

    @classmethod
    def open(cls, settings: Settings | None = None) -> Records:
        """Records at ``settings`` (default: from the environment); migrates the database."""
        settings = settings or Settings.from_env()
        engine = db.connect(settings.database_url)
        return cls(engine, FolderStore(settings.store_dir), data_dir=settings.data_dir,
                   policy=settings.policy)

    def close(self) -> None:
        self.engine.dispose()

    # --- patients ------------------------------------------------------------

    def create_patient(self, actor: Actor, *, name: str, birth_date: dt.date | None = None,
                       birth_year: int | None = None, fitzpatrick: int | None = None,
                       contraindications: str = "",
                       photo_consent: bool = False, consent_date: dt.date | None = None,
                       clinic_id: int | None = None) -> PatientRecord:
        """Add a patient to the actor's clinic (the system names ``clinic_id``).

        ``fitzpatrick``: 1..6; ``consent_date`` defaults to today when consent is given.
        """
        fields = _patient_fields(name=name, birth_date=birth_date, birth_year=birth_year,
                                 fitzpatrick=fitzpatrick, contraindications=contraindications,
                                 photo_consent=photo_consent, consent_date=consent_date)
        clinic_id = clinic_id if actor.is_system else actor.clinic_id
        self._require(actor, actor.is_staff and clinic_id is not None, "patient", "new")
        with self._write(actor) as s:
            patient = Patient(clinic_id=clinic_id, **fields)
            s.add(patient)
            s.flush()
            self._event(s, actor, "create_patient", patient_id=patient.id, clinic_id=clinic_id)
        return _patient(patient)

    def update_patient(self, actor: Actor, patient_id: int, **changes) -> PatientRecord:
        """Change some of a patient's fields (the keyword arguments of :meth:`create_patient`)."""
        unknown = set(changes) - set(_PATIENT_FIELDS)
        if unknown:
            raise TypeError(f"unknown patient fields: {', '.join(sorted(unknown))}")
        with self._write(actor) as s:
            patient = self._patient_row(s, actor, patient_id, change=True)
            current = {k: getattr(patient, k) for k in _PATIENT_FIELDS}
            if changes.get("photo_consent") and not current["photo_consent"]:
                current["consent_date"] = None  # a new consent is dated today unless given
            fields = _patient_fields(**{**current, **changes})
            for key, value in fields.items():
                setattr(patient, key, value)
            self._event(s, actor, "update_patient", patient_id=patient_id, clinic_id=patient.clinic_id,
                        fields=sorted(changes))
        return _patient(patient)

    def patient(self, actor: Actor, patient_id: int) -> PatientRecord:
        with self._read(actor) as s:
            return _patient(self._patient_row(s, actor, patient_id))

    def find_patients(self, actor: Actor, query: str = "", *, limit: int = 200) -> list[PatientSummary]:
        """The clinic's patients whose name contains ``query`` (any case), by name; with visit count and
        last visit. Staff only."""
        stmt = (select(Patient.id, Patient.name, Patient.birth_year, Patient.birth_date,
                       func.count(Session.id), func.max(Session.started_at))
                .outerjoin(Session, Session.patient_id == Patient.id)
                .group_by(Patient.id).order_by(Patient.name_key, Patient.id).limit(limit))
        words = _name_key(query).split()
        for word in words:
            stmt = stmt.where(Patient.name_key.like(f"%{_escape_like(word)}%", escape="\\"))
        if not actor.is_system:
            stmt = stmt.where(Patient.clinic_id == actor.clinic_id)
        with self._read(actor) as s:
            if not actor.is_staff:
                self._deny(actor, "patient list", "clinic")
            rows = s.execute(stmt).all()
        return [PatientSummary(id=r[0], name=r[1], birth_year=r[2] or (r[3].year if r[3] else None),
                               sessions=r[4], last_visit=r[5]) for r in rows]

    # --- sessions and photos ---------------------------------------------------

    def prepare_photo(self, actor: Actor, patient_id: int, upload: PhotoUpload) -> PreparedPhoto:
        """Decode and check an upload against the patient's baseline of its view, without saving anything.

        Raises :class:`PhotoRefused` with the reason when the file is not a usable photo,
        :class:`RecordError` when the view is not one we know. ``.quality`` says how the
        capture could be better.
        """
        view = _view(upload.view)
        with self._read(actor) as s:
            self._patient_row(s, actor, patient_id, change=True)
        base = self._baseline_photo(actor, patient_id, view)
        report = None if base is None else QualityReport.from_dict(base.quality)
        prepared = PreparedPhoto(upload, view, report, patient_id=patient_id)
        with self._read(actor) as s:
            prepared.already = [tuple(r) for r in s.execute(
                select(Session.started_at, Photo.view).join(Session)
                .where(Session.patient_id == patient_id, Photo.sha256 == prepared.sha256)
                .order_by(Session.started_at, Photo.id))]
        return prepared

    def add_session(self, actor: Actor, patient_id: int, *, started_at: dt.datetime,
                    treatment: str = "microneedling", device: str = "", needle_depth_mm: float | None = None,
                    zones: Iterable[str] = (),
                    products: Iterable[str] = (), notes: str = "", glogau: int | None = None,
                    goodman_baron: int | None = None,
                    photos: Sequence[PhotoUpload | PreparedPhoto] = ()) -> SessionRecord:
        """Record a visit with its photos, all or nothing.

        Parameters
        ----------
        started_at : datetime.datetime
            When the visit took place (clinic wall clock).
        needle_depth_mm : float, optional
            0 < depth <= 4 mm.
        glogau, goodman_baron : int, optional
            Clinical grades 1..4 (Glogau photo-ageing type I..IV; Goodman and
            Baron's qualitative acne-scar grade 1..4).
        photos : sequence of PhotoUpload or PreparedPhoto
            At most one per view.

        Raises
        ------
        RecordError
            A field out of range, an unusable photo (named), two photos of one
            view, or no consent to photography. Nothing is saved.
        """
        fields = _session_fields(started_at=started_at, treatment=treatment, device=device,
                                 needle_depth_mm=needle_depth_mm, zones=zones, products=products,
                                 notes=notes, glogau=glogau, goodman_baron=goodman_baron)
        patient = self._changeable_patient(actor, patient_id)
        prepared = self._prepare_all(actor, patient, photos)
        with self._saving(actor, prepared) as s:
            clinic_id = self._patient_row(s, actor, patient_id, change=True).clinic_id
            session = Session(patient_id=patient_id, **fields)
            session.photos = [_photo_row(p) for p in prepared]
            s.add(session)
            s.flush()
            self._event(s, actor, "add_session", patient_id=patient_id, clinic_id=clinic_id,
                        session_id=session.id, photos=len(prepared))
            # read back before the commit: an error after it (signed out, the database busy) would
            # tell the practitioner that nothing was saved, and invite the visit twice
            saved = _session(session)
        return saved

    def add_photos(self, actor: Actor, session_id: int,
                   photos: Sequence[PhotoUpload | PreparedPhoto]) -> SessionRecord:
        """Add photos to a recorded visit, all or nothing (a view it already has is refused)."""
        existing = self.session(actor, session_id)
        prepared = self._prepare_all(actor, self._changeable_patient(actor, existing.patient_id), photos)
        taken = {p.view for p in existing.photos} & {p.view for p in prepared}
        if taken:
            raise RecordError(f"this session already has a {sorted(taken)[0]} photo")
        with self._saving(actor, prepared) as s:
            clinic_id = self._patient_row(s, actor, existing.patient_id, change=True).clinic_id
            for p in prepared:
                row = _photo_row(p)
                row.session_id = session_id
                s.add(row)
            self._event(s, actor, "add_photos", patient_id=existing.patient_id, clinic_id=clinic_id,
                        session_id=session_id, photos=len(prepared))
            s.flush()
            saved = _session(s.get(Session, session_id))  # read back before the commit, as add_session
        return saved

    def _changeable_patient(self, actor: Actor, patient_id: int) -> PatientRecord:
        with self._read(actor) as s:
            return _patient(self._patient_row(s, actor, patient_id, change=True))

    def _row_of(self, s: DbSession, actor: Actor, model, row_id: int, *, change: bool = False):
        """A session or photo row, if ``actor`` may see (``change``: change) its patient's record."""
        what, row = model.__name__.lower(), s.get(model, row_id)
        if row is None:
            self._deny(actor, what, row_id, change=change, hide=True)
        session = row if model is Session else row.session
        self._patient_row(s, actor, session.patient_id, change=change, asked=(what, row_id))
        return row

    def session(self, actor: Actor, session_id: int) -> SessionRecord:
        with self._read(actor) as s:
            self._row_of(s, actor, Session, session_id)
            row = s.get(Session, session_id, options=[selectinload(Session.photos)])
            return _session(row)

    def sessions(self, actor: Actor, patient_id: int) -> list[SessionRecord]:
        """A patient's visits, oldest first, with their photos."""
        with self._read(actor) as s:
            self._patient_row(s, actor, patient_id)
            rows = s.scalars(select(Session).where(Session.patient_id == patient_id)
                             .options(selectinload(Session.photos))
                             .order_by(Session.started_at, Session.id)).all()
            return [_session(r) for r in rows]

    def photo(self, actor: Actor, photo_id: int) -> PhotoRecord:
        with self._read(actor) as s:
            return _photo(self._row_of(s, actor, Photo, photo_id))

    def image(self, actor: Actor, sha: str) -> np.ndarray:
        """A stored image as (H, W, 3) uint8 RGB: a photo's ``sha256``, or one of an analysis's ``images``.

        Refused unless the image belongs to a record ``actor`` may see.
        """
        sha = str(sha)
        with self._read(actor) as s:
            owners = s.execute(
                select(Patient.id, Patient.clinic_id).join(Session).join(Photo).where(Photo.sha256 == sha)
                .union(select(Patient.id, Patient.clinic_id).join(Session).join(Photo)
                       .join(Analysis, Analysis.photo_id == Photo.id).join(DerivedImage)
                       .where(DerivedImage.sha256 == sha))).all()
            if not any(access.may_see_patient(actor, pid, cid) for pid, cid in owners):
                self._deny(actor, "image", sha[:12], hide=True)
        return load_image(self.store.get(sha))

    def views(self, actor: Actor, patient_id: int) -> list[str]:
        """The views this patient has photos of: front, left, right first, then close-ups by name."""
        with self._read(actor) as s:
            self._patient_row(s, actor, patient_id)
            found = set(s.scalars(select(Photo.view).join(Session).where(Session.patient_id == patient_id)))
        return [v for v in VIEWS if v in found] + sorted(found - set(VIEWS))

    def baseline(self, actor: Actor, patient_id: int, view: str) -> PhotoRecord | None:
        """The patient's baseline photo of ``view``: the one from their earliest visit that has one."""
        return self._baseline_photo(actor, patient_id, _view(view))

    def _baseline_photo(self, actor: Actor, patient_id: int, view: str) -> PhotoRecord | None:
        with self._read(actor) as s:
            self._patient_row(s, actor, patient_id)
            row = _first_of_view(s, patient_id, view)
            return None if row is None else _photo(row)

    def _prepare_all(self, actor: Actor, patient: PatientRecord, photos) -> list[PreparedPhoto]:
        if photos and not patient.photo_consent:
            raise RecordError(f"{patient.name} has not consented to photography: record the consent "
                              "on the patient's page before adding photos")
        prepared = [p if isinstance(p, PreparedPhoto) else self.prepare_photo(actor, patient.id, p)
                    for p in photos]
        for p in prepared:
            if p.patient_id != patient.id:  # e.g. a page that kept its uploads when the patient was switched
                raise RecordError(f"{p.label} was checked for another patient's record: add it again for "
                                  f"{patient.name}")
        views = [p.view for p in prepared]
        twice = sorted({v for v in views if views.count(v) > 1})
        if twice:
            raise RecordError(f"two photos of the {twice[0]} view: keep one per view and session")
        return prepared

    @contextmanager
    def _saving(self, actor: Actor, prepared: Sequence[PreparedPhoto]):
        """Write the photos' blobs, then the transaction; on failure remove the blobs that were new."""
        with _STORE_LOCK:
            new: list[str] = []
            try:
                for p in prepared:
                    if not self.store.exists(p.sha256):
                        self.store.put(p.png)
                        new.append(p.sha256)
                with self._write(actor) as s:
                    yield s
            except BaseException:
                self._remove_unreferenced(new)
                raise

    def _remove_unreferenced(self, keys: Iterable[str]) -> None:
        keys = set(keys)
        if not keys:
            return
        with DbSession(self.engine) as s:
            used = set(s.scalars(select(Photo.sha256).where(Photo.sha256.in_(keys))))
            used |= set(s.scalars(select(DerivedImage.sha256).where(DerivedImage.sha256.in_(keys))))
        for key in keys - used:
            self.store.delete(key)

    # --- analyses --------------------------------------------------------------

    def analysis(self, actor: Actor, photo_id: int) -> AnalysisRecord | None:
        """The cached analysis of a photo against its current baseline, or None if not computed yet."""
        return self._cached(actor, *self._with_baseline(actor, photo_id))

    def analyze(self, actor: Actor, photo_id: int) -> AnalysisRecord:
        """The photo's analysis against its baseline: from the cache, or computed and saved now (staff)."""
        photo, baseline, outline = self._with_baseline(actor, photo_id, change=True)
        cached = self._cached(actor, photo, baseline, outline)
        if cached is not None:
            return cached
        outcome = _analysis.run(self.store.get(photo.sha256),
                                None if photo.id == baseline.id else self.store.get(baseline.sha256), outline)
        return self.save_analysis(actor, photo.id, baseline.id, outcome)

    def _cached(self, actor: Actor, photo: PhotoRecord, baseline: PhotoRecord,
                outline: list | None) -> AnalysisRecord | None:
        with self._read(actor) as s:
            row = _analysis_row(s, photo.id, baseline.id, _analysis.version(), _analysis.area_key(outline))
            return None if row is None else _analysis_record(row)

    def pending_analyses(self, actor: Actor, *, all_versions: bool = False
                         ) -> list[tuple[int, int, str, str | None, list | None]]:
        """Photos with no analysis against their current baseline and area at this version (system only).

        Returns ``(photo_id, baseline_id, photo_sha256, baseline_sha256 or None, outline
        or None)``: the baseline's None when the photo is its own baseline, the outline's
        when the view is measured over its whole skin; every photo if ``all_versions``.
        """
        self._require(actor, actor.is_system, "archive", "all")
        with self._read(actor) as s:
            rows = s.execute(select(Photo.id, Photo.view, Photo.sha256, Session.patient_id,
                                    Session.started_at, Session.id)
                             .join(Session).order_by(Session.patient_id, Photo.view,
                                                     Session.started_at, Session.id)).all()
            done = set(s.execute(select(Analysis.photo_id, Analysis.baseline_id, Analysis.area)
                                 .where(Analysis.algorithm_version == _analysis.version())))
            areas = {(a.patient_id, a.view): a for a in s.scalars(select(MeasuredArea))}
        todo, first = [], {}
        for photo_id, view, sha, patient_id, _, _ in rows:
            base_id, base_sha = first.setdefault((patient_id, view), (photo_id, sha))
            outline = _drawn_on(areas.get((patient_id, view)), base_id)
            if all_versions or (photo_id, base_id, _analysis.area_key(outline)) not in done:
                todo.append((photo_id, base_id, sha, None if base_id == photo_id else base_sha, outline))
        return todo

    def save_analysis(self, actor: Actor, photo_id: int, baseline_id: int,
                      outcome: _analysis.Outcome) -> AnalysisRecord:
        """Keep an :class:`~analyzer.records.analysis.Outcome` (replacing one with the same key)."""
        photo, baseline, _ = self._with_baseline(actor, photo_id, change=True)
        if baseline_id not in (photo.id, baseline.id):
            with self._read(actor) as s:
                other = self._row_of(s, actor, Photo, baseline_id)
                if other.session.patient_id != s.get(Photo, photo_id).session.patient_id:
                    raise RecordError("a photo is measured against a baseline of the same patient")
        with _STORE_LOCK:
            new, replaced = [], set()
            try:
                keys = {}
                for kind, data in outcome.images.items():
                    keys[kind] = sha256(data)
                    if not self.store.exists(keys[kind]):
                        self.store.put(data)
                        new.append(keys[kind])
                with self._write(actor) as s:
                    old = _analysis_row(s, photo_id, baseline_id, outcome.version, outcome.area)
                    if old is not None:
                        replaced = {d.sha256 for d in old.images}
                        s.delete(old)
                        s.flush()
                    rest = dict(outcome.result)
                    values = rest.pop("metrics", None) or rest.pop("after", None) or {}
                    row = Analysis(photo_id=photo_id, baseline_id=baseline_id,
                                   algorithm_version=outcome.version, area=outcome.area,
                                   status=outcome.status, message=outcome.message,
                                   light=rest.get("light", ""), values=values, delta=rest.pop("delta", {}),
                                   significant=rest.pop("significant", {}), limits=rest.pop("limits", {}),
                                   light_change=rest.pop("light_change", {}), result=rest,
                                   seconds=outcome.seconds,
                                   images=[DerivedImage(kind=k, sha256=v) for k, v in keys.items()])
                    s.add(row)
            except IntegrityError:  # another thread saved the same analysis first: keep theirs
                self._remove_unreferenced(new)
                with self._read(actor) as s:
                    theirs = _analysis_row(s, photo_id, baseline_id, outcome.version, outcome.area)
                    if theirs is None:
                        raise
                    return _analysis_record(theirs)
            except BaseException:
                self._remove_unreferenced(new)
                raise
            self._remove_unreferenced(replaced - set(keys.values()))
            return _analysis_record(row)

    def _with_baseline(self, actor: Actor, photo_id: int, *, change: bool = False
                       ) -> tuple[PhotoRecord, PhotoRecord, list | None]:
        """The photo, its current baseline (the same record when it is its own) and its view's outline
        (None: the whole skin), in one read."""
        with self._read(actor) as s:
            photo = self._row_of(s, actor, Photo, photo_id, change=change)
            patient_id = photo.session.patient_id
            baseline = _first_of_view(s, patient_id, photo.view)
            return _photo(photo), _photo(baseline), _outline(s, patient_id, photo.view, baseline.id)

    # --- the measured area -------------------------------------------------------

    def measured_area(self, actor: Actor, patient_id: int, view: str) -> list[list[float]] | None:
        """The outline ``view`` is measured over (``[[x, y], ...]``, baseline pixels); None: all its skin."""
        view = _view(view)
        with self._read(actor) as s:
            self._patient_row(s, actor, patient_id)
            baseline = _first_of_view(s, patient_id, view)
            return None if baseline is None else _outline(s, patient_id, view, baseline.id)

    def set_measured_area(self, actor: Actor, patient_id: int, view: str,
                          outline: Sequence[Sequence[float]] | None, *,
                          baseline_id: int | None = None) -> None:
        """Measure ``view`` over ``outline`` (``[(x, y), ...]``, its baseline's pixels); None: its whole skin.

        The view's analyses over other areas stay cached but are no longer
        shown; :meth:`analyze` (or ``reanalyze``) measures its photos over this
        one. An outline drawn on a baseline that an earlier photo has since
        replaced no longer applies. ``baseline_id``: the photo the outline was
        drawn on, checked to be the view's baseline still (someone may have
        added an earlier visit meanwhile).

        Raises
        ------
        RecordError
            No photo of the view yet, the baseline not ``baseline_id``, or an
            outline of fewer than 3 points, not finite, outside the baseline or
            enclosing no area.
        """
        view = _view(view)
        with self._write(actor) as s:
            patient = self._patient_row(s, actor, patient_id, change=True)
            # one writer per patient at a time (SQLite's writers queue anyway): two practitioners saving
            # an area at once would both find none and both insert it
            s.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update())
            baseline = _first_of_view(s, patient_id, view)
            if baseline is None:
                raise RecordError(f"there is no {view} photo to draw the area on yet")
            if baseline_id is not None and baseline.id != baseline_id:
                raise RecordError(f"the {view} view's baseline changed while the outline was drawn (an "
                                  "earlier visit was added): draw it again on the new baseline")
            points = None if outline is None else _outline_points(outline, baseline.width, baseline.height)
            row = _area_row(s, patient_id, view)
            if points is None and row is not None:
                s.delete(row)
            elif points is not None and row is None:
                s.add(MeasuredArea(patient_id=patient_id, view=view, baseline_id=baseline.id, points=points,
                                   created_by=actor.user_id))
            elif points is not None:
                row.baseline_id, row.points, row.created_by, row.created_at = (baseline.id, points,
                                                                               actor.user_id, utcnow())
            self._event(s, actor, "set_measured_area", patient_id=patient_id, clinic_id=patient.clinic_id,
                        view=view, points=0 if points is None else len(points))

    # --- the timeline ----------------------------------------------------------

    def timeline(self, actor: Actor, patient_id: int, view: str = "front") -> Timeline:
        """A patient's visits, oldest first, with the ``view`` photo's cached metrics (never computes)."""
        view = _view(view)
        with self._read(actor) as s:
            self._patient_row(s, actor, patient_id)
            sessions = s.scalars(select(Session).where(Session.patient_id == patient_id)
                                 .options(selectinload(Session.photos))
                                 .order_by(Session.started_at, Session.id)).all()
            records = [_session(r) for r in sessions]
            photos = [r.photo(view) for r in records]
            baseline_id = next((p.id for p in photos if p is not None), None)
            ids = [p.id for p in photos if p is not None]
            outline = None if baseline_id is None else _outline(s, patient_id, view, baseline_id)
            area = _analysis.area_key(outline)
            found = s.scalars(select(Analysis).options(defer(Analysis.result)).where(  # charts: no details
                Analysis.photo_id.in_(ids), Analysis.baseline_id == baseline_id,
                Analysis.algorithm_version == _analysis.version(), Analysis.area == area)) if ids else []
            analyses = {a.photo_id: a for a in found}
            drawn_mm2 = None
            if outline is not None:  # how much skin the outline holds: changes over less are noisier
                measured = [a for a in analyses.values() if a.status == "measured"]
                contexts = [a.result.get("context") or a.result.get("before_context") or {} for a in measured]
                # the least skin any comparison had (a later photo may show less of it): the safer noise
                drawn_mm2 = min((c["area_mm2"] for c in contexts if c.get("area_mm2")), default=None)
        first = analyses.get(baseline_id)
        base = first.values if first is not None else {}
        points = []
        for record, photo in zip(records, photos, strict=True):
            a = None if photo is None else analyses.get(photo.id)
            if photo is None:
                points.append(TimelinePoint(record, None, "no_photo", "", {}, {}, {}))
            elif a is None:
                points.append(TimelinePoint(record, photo.id, "pending", "", {}, {}, {}))
            else:
                values = a.values if photo.id == baseline_id else _on_baseline_scale(base, a.delta)
                points.append(TimelinePoint(record, photo.id, a.status, a.message, values, a.delta,
                                            a.significant, a.light, a.limits, a.light_change))
        return Timeline(patient_id, view, baseline_id, tuple(points), drawn_mm2)

    # --- erasure and housekeeping ------------------------------------------------

    def delete_patient(self, actor: Actor, patient_id: int) -> None:
        """Erase a patient: their rows (visits, photos, analyses, account) and every blob only they used.

        The clinic's admin only; the audit log keeps the fact of the erasure.
        """
        if not actor.is_admin:
            with self._read(actor) as s:
                self._patient_row(s, actor, patient_id, change=True)
                self._deny(actor, "patient", patient_id, change=True)
        with _STORE_LOCK:
            with self._write(actor) as s:
                patient = self._patient_row(s, actor, patient_id, change=True)
                photo_ids = select(Photo.id).join(Session).where(Session.patient_id == patient_id)
                keys = set(s.scalars(select(Photo.sha256).where(Photo.id.in_(photo_ids))))
                keys |= set(s.scalars(select(DerivedImage.sha256).join(Analysis).where(
                    Analysis.photo_id.in_(photo_ids))))
                clinic_id = patient.clinic_id
                s.delete(patient)
                self._event(s, actor, "erase", patient_id=patient_id, clinic_id=clinic_id, images=len(keys))
            self._remove_unreferenced(keys)

    def sweep_orphans(self, actor: Actor, *, older_than_s: float = 3600.0) -> int:
        """Remove stored blobs no record uses, written at least ``older_than_s`` ago; returns how many.

        Leftovers of a process killed between writing a photo and committing
        its visit, or between erasing a patient and removing their blobs.
        The age keeps it clear of uploads in progress in other processes. System only.
        """
        self._require(actor, actor.is_system, "store", "all")
        with _STORE_LOCK:
            candidates = set(self.store.keys(older_than_s=older_than_s))
            if not candidates:
                return 0
            with self._read(actor) as s:
                used = set(s.scalars(select(Photo.sha256)))
                used |= set(s.scalars(select(DerivedImage.sha256)))
            orphans = candidates - used
            for key in orphans:
                self.store.delete(key)
        return len(orphans)

    def log(self, actor: Actor, action: str, patient_id: int, **detail) -> None:
        """Record that ``actor`` did ``action`` (e.g. "export", "report") with a patient's record."""
        with self._write(actor) as s:
            clinic_id = self._patient_row(s, actor, patient_id).clinic_id
            self._event(s, actor, action, patient_id=patient_id, clinic_id=clinic_id, **detail)


# --- validation ------------------------------------------------------------------

_PATIENT_FIELDS = ("name", "birth_date", "birth_year", "fitzpatrick", "contraindications", "photo_consent",
                   "consent_date")


def _patient_fields(*, name, birth_date, birth_year, fitzpatrick, contraindications, photo_consent,
                    consent_date) -> dict:
    name = plain(name)
    if not name:
        raise RecordError("the patient needs a name")
    if len(name) > 200:
        raise RecordError("the name is longer than 200 characters")
    today = dt.date.today()
    if birth_date is not None:
        if not isinstance(birth_date, dt.date) or not dt.date(1900, 1, 1) <= birth_date <= today:
            raise RecordError("the date of birth must be a date between 1900 and today")
        if birth_year is not None and birth_year != birth_date.year:
            raise RecordError("the year of birth does not match the date of birth")
        birth_year = birth_date.year
    if birth_year is not None and not (isinstance(birth_year, int) and 1900 <= birth_year <= today.year):
        raise RecordError(f"the year of birth must be between 1900 and {today.year}")
    if fitzpatrick is not None and fitzpatrick not in range(1, 7):
        raise RecordError("the Fitzpatrick skin type must be 1 to 6 (I to VI)")
    photo_consent = bool(photo_consent)
    if photo_consent and consent_date is None:
        consent_date = today
    if not photo_consent:
        consent_date = None
    if consent_date is not None and consent_date > today:
        raise RecordError("the consent date cannot be in the future")
    return {"name": name, "name_key": _name_key(name), "birth_date": birth_date, "birth_year": birth_year,
            "fitzpatrick": fitzpatrick, "contraindications": plain(contraindications, multiline=True),
            "photo_consent": photo_consent, "consent_date": consent_date}


def _session_fields(*, started_at, treatment, device, needle_depth_mm, zones, products, notes, glogau,
                    goodman_baron) -> dict:
    if not isinstance(started_at, dt.datetime):
        raise RecordError("the session needs a date and time")
    treatment = plain(treatment)
    if not treatment or len(treatment) > 80:
        raise RecordError("the treatment needs a name of at most 80 characters")
    if needle_depth_mm is not None:
        depth = float(needle_depth_mm)
        if not 0 < depth <= _MAX_DEPTH_MM:
            raise RecordError(f"the needle depth must be more than 0 and at most {_MAX_DEPTH_MM:g} mm "
                              f"(got {depth:g} mm)")
        needle_depth_mm = depth
    for grade, label in ((glogau, "Glogau"), (goodman_baron, "Goodman-Baron")):
        if grade is not None and grade not in range(1, 5):
            raise RecordError(f"the {label} grade must be 1 to 4")
    return {"started_at": started_at.replace(tzinfo=None), "treatment": treatment,
            "device": plain(device)[:120], "needle_depth_mm": needle_depth_mm,
            "zones": [plain(z) for z in zones], "products": [plain(p) for p in products],
            "notes": plain(notes, multiline=True), "glogau": glogau, "goodman_baron": goodman_baron}


def _view(view: str) -> str:
    view = plain(view).lower()
    if view in VIEWS or _CLOSE_UP.fullmatch(view):
        return view
    if view.startswith("close-up:"):
        raise RecordError(f"a close-up's name has 1 to 40 letters, digits, spaces, hyphens or apostrophes "
                          f"(not {view.removeprefix('close-up:').strip()[:60]!r}): e.g. 'left cheek'")
    raise RecordError(f"unknown view {view!r}: use front, left, right or 'close-up: <name>'")


def _outline_points(outline, width: int, height: int) -> list[list[float]]:
    """``outline`` as ``[[x, y], ...]`` (0.1 px), checked: a polygon with area inside a photo of this size."""
    try:
        points = np.asarray(outline, np.float64)
    except (TypeError, ValueError):
        raise RecordError("the outline must be a list of (x, y) points") from None
    if points.ndim != 2 or points.shape[1] != 2 or not 3 <= len(points) <= _MAX_OUTLINE_POINTS:
        raise RecordError(f"the outline must be 3 to {_MAX_OUTLINE_POINTS} (x, y) points")
    if not np.isfinite(points).all():
        raise RecordError("the outline's points must be finite numbers")
    if (points < -1).any() or (points[:, 0] > width + 1).any() or (points[:, 1] > height + 1).any():
        raise RecordError(f"the outline leaves the baseline photo ({width} x {height} px)")
    points = np.clip(points, 0, [width - 1, height - 1])
    # filled as it will be measured, less its own line: a figure of eight's signed areas cancel but
    # its fill does not, and points on one line fill only the line
    corner = np.floor(points.min(axis=0)) - 2
    size = np.ceil(points.max(axis=0) - corner).astype(int) + 3
    fill = _analysis.area_mask(points - corner, (size[1], size[0])).astype(np.uint8)
    cv2.polylines(fill, [np.round(points - corner).astype(np.int32)], True, 0, thickness=3)
    if not fill.any():
        raise RecordError("the outline encloses no area: draw around the skin to measure")
    return [[round(float(a), 1), round(float(b), 1)] for a, b in points]


def _outline(s: DbSession, patient_id: int, view: str, baseline_id: int) -> list | None:
    """The outline the view is measured over, if drawn on its current baseline."""
    return _drawn_on(_area_row(s, patient_id, view), baseline_id)


def _drawn_on(row: MeasuredArea | None, baseline_id: int) -> list | None:
    """The area's outline if it was drawn on this baseline (an earlier photo since made baseline voids it)."""
    return row.points if row is not None and row.baseline_id == baseline_id else None


def _area_row(s: DbSession, patient_id: int, view: str) -> MeasuredArea | None:
    return s.scalars(select(MeasuredArea).where(MeasuredArea.patient_id == patient_id,
                                                MeasuredArea.view == view)).first()


def _analysis_row(s: DbSession, photo_id: int, baseline_id: int, version: str, area: str) -> Analysis | None:
    """The analysis with this key (photo, baseline, algorithm version, area), if there is one."""
    return s.scalars(select(Analysis).where(
        Analysis.photo_id == photo_id, Analysis.baseline_id == baseline_id,
        Analysis.algorithm_version == version, Analysis.area == area)).first()


def _name_key(name: str) -> str:
    return plain(name).casefold()  # one space between words already


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- rows to records -----------------------------------------------------------------

def _first_of_view(s: DbSession, patient_id: int, view: str) -> Photo | None:
    """The patient's baseline photo of ``view``: from their earliest visit that has one."""
    return s.scalars(select(Photo).join(Session)
                     .where(Session.patient_id == patient_id, Photo.view == view)
                     .order_by(Session.started_at, Session.id).limit(1)).first()


def _on_baseline_scale(base: dict, delta: dict) -> dict:
    """A later visit's metrics as its timeline shows them: the baseline's reading plus the change.

    Each comparison measures both photos over the skin both show, which differs from visit to
    visit (a head turned further, a lock of hair); the later photo's own reading over that skin
    would make the line between two visits jump by what the skin left out holds (4 brown spots,
    6 ITA degrees on the demo patient) although neither changed against the baseline. The
    baseline's reading plus the change keeps every step between visits a difference of two
    measured changes. Keys either side lacks (``None``: not measurable) are left out.
    """
    return {k: base[k] + d for k, d in delta.items() if d is not None and base.get(k) is not None}


def _patient(p: Patient) -> PatientRecord:
    return PatientRecord(p.id, p.name, p.birth_date, p.birth_year, p.fitzpatrick, p.contraindications,
                         p.photo_consent, p.consent_date, p.created_at, p.clinic_id)


def _photo(p: Photo) -> PhotoRecord:
    return PhotoRecord(p.id, p.session_id, p.view, p.sha256, p.width, p.height, p.size_bytes, p.source_format,
                       p.captured_at, p.quality)


def _photo_row(p: PreparedPhoto) -> Photo:
    return Photo(view=p.view, sha256=p.sha256, width=p.width, height=p.height, size_bytes=len(p.png),
                 source_format=p.source_format, captured_at=p.captured_at, quality=p.quality.to_dict())


def _session(s: Session) -> SessionRecord:
    return SessionRecord(s.id, s.patient_id, s.started_at, s.treatment, s.device, s.needle_depth_mm,
                         tuple(s.zones), tuple(s.products), s.notes, s.glogau, s.goodman_baron,
                         tuple(_photo(p) for p in s.photos))


def _analysis_record(a: Analysis) -> AnalysisRecord:
    return AnalysisRecord(a.id, a.photo_id, a.baseline_id, a.algorithm_version, a.status, a.message, a.values,
                          a.delta, a.significant, a.result, {d.kind: d.sha256 for d in a.images}, a.seconds,
                          a.limits, a.light_change)

