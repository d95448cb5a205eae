"""The records' tables (SQLAlchemy 2 ORM): Clinic -> Patient -> Session -> Photo -> Analysis; who may
see them: User, Invite, LoginSession, LoginThrottle; what was done: AuditEvent.

Times: ``Session.started_at`` and ``Photo.captured_at`` are the clinic's wall
clock, as entered or as the camera recorded it (naive); ``created_at`` and
``AuditEvent.at`` are UTC (naive). The schema is created and changed only by
the Alembic migrations in ``migrations/``; ``tests/test_records.py`` checks
that the migrations and these classes agree.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["Analysis", "AuditEvent", "Base", "Clinic", "DerivedImage", "Invite", "LoginSession",
           "LoginThrottle", "MeasuredArea", "Patient", "Photo", "Session", "User", "utcnow"]

# Named constraints, so migrations can refer to them on every database.
_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Now in UTC, naive (how ``created_at`` columns store it)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)
    type_annotation_map = {dict: JSON, list: JSON}


class Clinic(Base):
    """A clinic: its practitioners see its patients and no other clinic's. ``demo``: synthetic data only."""

    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Patient(Base):
    """A patient of one clinic. ``name_key`` is the case-folded name that search matches."""

    __tablename__ = "patients"
    __table_args__ = (
        CheckConstraint("fitzpatrick BETWEEN 1 AND 6", name="fitzpatrick_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    fitzpatrick: Mapped[int | None] = mapped_column(Integer)  # skin phototype I..VI as 1..6
    contraindications: Mapped[str] = mapped_column(Text, default="")  # e.g. keloid tendency, active acne
    photo_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    sessions: Mapped[list[Session]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Session.started_at")


class Session(Base):
    """One treatment visit.

    ``needle_depth_mm``: 0 < depth <= 4 mm; grades: Glogau 1..4, Goodman-Baron 1..4.
    """

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint("needle_depth_mm > 0 AND needle_depth_mm <= 4", name="needle_depth_range"),
        CheckConstraint("glogau BETWEEN 1 AND 4", name="glogau_range"),
        CheckConstraint("goodman_baron BETWEEN 1 AND 4", name="goodman_baron_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    treatment: Mapped[str] = mapped_column(String(80))
    device: Mapped[str] = mapped_column(String(120), default="")
    needle_depth_mm: Mapped[float | None] = mapped_column(Float)
    zones: Mapped[list] = mapped_column(default=list)
    products: Mapped[list] = mapped_column(default=list)  # serums, numbing cream
    notes: Mapped[str] = mapped_column(Text, default="")
    glogau: Mapped[int | None] = mapped_column(Integer)
    goodman_baron: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="sessions")
    photos: Mapped[list[Photo]] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True, order_by="Photo.id")


class Photo(Base):
    """A stored photo: ``sha256`` keys the clean PNG in the image store; one photo per view per session."""

    __tablename__ = "photos"
    __table_args__ = (UniqueConstraint("session_id", "view", name="uq_photos_session_view"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    view: Mapped[str] = mapped_column(String(60))  # front, left, right, or "close-up: <name>"
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)  # of the stored PNG
    source_format: Mapped[str] = mapped_column(String(10))  # what was uploaded: JPEG, HEIF, ...
    captured_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # EXIF, read before stripping
    quality: Mapped[dict] = mapped_column()  # analyzer.quality.QualityReport.to_dict()
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    session: Mapped[Session] = relationship(back_populates="photos")


class Analysis(Base):
    """A photo measured against its baseline by one algorithm version: the cache of the pipeline.

    ``status``: "measured", "refused" (photos do not align) or "no_skin".
    ``values``: the photo's metrics; ``delta`` and ``significant``: its change vs the
    baseline over the same skin (empty for the baseline itself) -- what charts read;
    ``limits``: the noise limit each change was judged against (``Comparison.limits``,
    None: not judged); ``light_change``: how the photo's light differed from the
    baseline's (``Tone.change()``; empty for the baseline and for light read from
    the camera alone).
    ``result``: the rest, for the record: alignment, light, tone, the baseline's
    metrics over the shared skin, how each was measured (scale, spots, notes).
    ``area``: the :class:`MeasuredArea` it was measured over, by
    :func:`analyzer.records.analysis.area_key` ("" for the whole detected skin).
    Images drawn from it (the aligned photo, change maps) are :class:`DerivedImage` rows.
    """

    __tablename__ = "analyses"
    __table_args__ = (
        UniqueConstraint("photo_id", "baseline_id", "algorithm_version", "area", name="uq_analyses_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    baseline_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    algorithm_version: Mapped[str] = mapped_column(String(20))
    area: Mapped[str] = mapped_column(String(16), default="", server_default="")
    status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    light: Mapped[str] = mapped_column(String(20), default="")  # Comparison.light (follow-ups)
    values: Mapped[dict] = mapped_column()
    delta: Mapped[dict] = mapped_column()
    significant: Mapped[dict] = mapped_column()
    limits: Mapped[dict] = mapped_column(default=dict, server_default=text("'{}'"))
    light_change: Mapped[dict] = mapped_column(default=dict, server_default=text("'{}'"))
    result: Mapped[dict] = mapped_column()
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    images: Mapped[list[DerivedImage]] = relationship(cascade="all, delete-orphan", passive_deletes=True,
                                                      order_by="DerivedImage.kind")


class MeasuredArea(Base):
    """The area a patient's view is measured over, drawn by a practitioner on the view's baseline.

    ``points``: the outline, ``[[x, y], ...]`` in the baseline photo's pixels. It
    holds while ``baseline_id`` is the view's baseline; a photo taken earlier
    becoming the baseline leaves the view measured over the whole skin again.
    """

    __tablename__ = "measured_areas"
    __table_args__ = (UniqueConstraint("patient_id", "view", name="uq_measured_areas_view"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    view: Mapped[str] = mapped_column(String(60))
    baseline_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    points: Mapped[list] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class DerivedImage(Base):
    """An image an analysis drew, kept in the image store by ``sha256`` (JPEG, baseline's frame).

    ``kind``: "aligned" (the photo warped onto the baseline), "redness",
    "pigmentation", "texture" (change maps, :mod:`analyzer.change_maps`).
    """

    __tablename__ = "derived_images"
    __table_args__ = (UniqueConstraint("analysis_id", "kind", name="uq_derived_images_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64), index=True)


class User(Base):
    """Someone who signs in: an admin or practitioner of a clinic, or a patient tied to their own record.

    ``username_key`` is the case-folded name sign-in matches; ``password_hash`` is
    argon2id (:mod:`analyzer.records.access`).
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'practitioner', 'patient')", name="role_known"),
        CheckConstraint("(role = 'patient') = (patient_id IS NOT NULL)", name="patient_role_has_patient"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    username: Mapped[str] = mapped_column(String(80))
    username_key: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Invite(Base):
    """A one-time, expiring, revocable code that creates an account (or sets a new password).

    Only the code's SHA-256 is kept (``code_hash``); the code is shown once. A
    patient invite names the patient; a practitioner or admin invite, the clinic.
    """

    __tablename__ = "invites"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'practitioner', 'patient')", name="role_known"),
        CheckConstraint("(role = 'patient') = (patient_id IS NOT NULL)", name="patient_role_has_patient"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class LoginSession(Base):
    """A signed-in browser session. ``id`` is random and lives only on the server; ended by sign-out,
    inactivity or age (:class:`analyzer.records.access.Policy`)."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class LoginThrottle(Base):
    """Failed sign-ins per username (existing or not), and until when sign-in is refused."""

    __tablename__ = "login_throttle"

    username_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditEvent(Base):
    """Who did what to whose record. ``patient_id`` is kept (no foreign key) after the patient is erased."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    clinic_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(40))  # create_patient, add_session, view, denied, login, ...
    detail: Mapped[dict] = mapped_column(default=dict)
