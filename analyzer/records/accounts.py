"""Accounts: first-run set-up, sign-in and sign-out, invites, the team, the audit log.

Mixed into :class:`analyzer.records.Records`; the rules are in
:mod:`analyzer.records.access`. What it guarantees:

- **Sign-in is slowed** after ``Policy.free_failures`` failures for a username
  (known or not, so the lock says nothing about who has an account): each
  further failure doubles the wait, up to ``Policy.max_lockout_s``. An unknown
  name costs the same argon2 time as a wrong password.
- **A signed-in session ends** on sign-out, after ``Policy.idle_minutes``
  without activity, ``Policy.max_session_hours`` after sign-in, or when its
  account is disabled; every repository call checks it, so an actor kept
  after that can do nothing.
- **Invites are one-time, expiring and revocable**; only their hash is stored.
  A patient's invite creates their account, or sets a new password if they
  have one (the practitioner's way to help a patient who forgot theirs).
- **Everything is audited**: sign-ins (and failures), invites, refusals.
"""

from __future__ import annotations

import datetime as dt
import operator
import threading
import time
from contextlib import contextmanager, nullcontext
from typing import NoReturn

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from analyzer.records import access
from analyzer.records.access import Actor, Forbidden, NotFound, SignInRefused
from analyzer.records.models import (
    AuditEvent,
    Clinic,
    Invite,
    LoginSession,
    LoginThrottle,
    Patient,
    User,
    utcnow,
)
from analyzer.records.text import plain
from analyzer.records.views import AuditRecord, Invitation, InviteRecord, UserRecord

__all__ = ["AccountsMixin"]

_USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")
_VIEW_AUDIT_EVERY_S = 600.0  # one "view" event per user and patient per 10 minutes
_SEEN_EVERY_S = 30.0  # a session's last activity is written at most this often


class AccountsMixin:
    """Account operations of :class:`~analyzer.records.Records` (which provides the database)."""

    policy: access.Policy

    def _init_accounts(self) -> None:
        self._viewed: dict[tuple[int, int], float] = {}
        self._viewed_lock = threading.Lock()

    def clock(self) -> dt.datetime:
        """Now, UTC naive (tests move it forward to expire sessions and invites)."""
        return utcnow()

    # --- transactions that know who acts -------------------------------------------------

    def _read(self, actor: Actor):
        """A read-only database session, once ``actor``'s sign-in is checked; refusals are audited."""
        return self._acting(actor, write=False)

    def _write(self, actor: Actor):
        """A writing transaction, once ``actor``'s sign-in is checked; refusals are audited after it
        rolled back (in SQLite a second writer would wait for this one)."""
        return self._acting(actor, write=True)

    @contextmanager
    def _acting(self, actor: Actor, *, write: bool):
        try:
            with (DbSession(self._writer if write else self.engine, expire_on_commit=False) as s,
                  s.begin() if write else nullcontext()):
                s.info["writing"] = write
                self._check_live(s, actor)
                yield s
        except (Forbidden, NotFound) as err:
            self._record_denial(err)
            raise

    @contextmanager
    def _anonymous_write(self):
        with DbSession(self._writer, expire_on_commit=False) as s, s.begin():
            yield s

    def _check_live(self, s: DbSession, actor: Actor) -> None:
        if not isinstance(actor, Actor):
            raise TypeError(f"the first argument must be the acting user (an Actor), "
                            f"not {type(actor).__name__}")
        if actor.is_system:
            return
        now = self.clock()
        row = s.execute(select(LoginSession.ended_at, LoginSession.last_seen_at, LoginSession.created_at,
                               User.disabled, User.role, User.clinic_id, User.patient_id, User.id)
                        .join(User, User.id == LoginSession.user_id)
                        .where(LoginSession.id == actor.session_id)).first()
        if row is None or row.ended_at is not None:
            raise SignInRefused("You are signed out: sign in again.")
        if row.last_seen_at < now - dt.timedelta(minutes=self.policy.idle_minutes):
            raise SignInRefused(f"You were signed out after {self.policy.idle_minutes:g} minutes without "
                                "activity: sign in again.")
        if row.created_at < now - dt.timedelta(hours=self.policy.max_session_hours):
            raise SignInRefused(f"You were signed out {self.policy.max_session_hours:g} hours after signing "
                                "in: sign in again.")
        if row.disabled or (row.role, row.clinic_id, row.patient_id, row.id) != (
                actor.role, actor.clinic_id, actor.patient_id, actor.user_id):
            raise SignInRefused("Your account was changed or disabled: sign in again.")

    def _event(self, s: DbSession, actor: Actor | None, action: str, *, patient_id: int | None = None,
               clinic_id: int | None = None, **detail) -> None:
        """Add an audit event to ``s``'s transaction."""
        extra = {} if actor is None else actor.audit_detail()
        s.add(AuditEvent(user_id=None if actor is None else actor.user_id, patient_id=patient_id,
                         clinic_id=clinic_id if clinic_id is not None else getattr(actor, "clinic_id", None),
                         action=action, detail={**extra, **detail}, at=self.clock()))

    @staticmethod
    def _deny(actor: Actor, what: str, ident, *, change: bool = False, hide: bool = False,
              patient_id: int | None = None) -> NoReturn:
        """Raise the refusal; ``_read``/``_write`` audit it once their transaction has ended.

        ``hide``: the record is missing or another clinic's. Staff are then told "no <what> <id>"
        (:class:`NotFound`) either way, so a clinic cannot count or probe another's ids; everyone
        else gets :class:`Forbidden`, which never says whether a record exists. ``patient_id``: whose
        record was asked for, when ``what`` is not the patient (a session, a photo), for the audit.
        """
        if hide and actor.is_staff:
            err = NotFound(f"no {what} {str(ident)[:80]}")
            if actor.is_system:
                raise err  # the server's own tasks see everything there is: nothing to audit
        else:
            verb = "change" if change else "see"
            err = Forbidden(f"{what} {str(ident)[:80]} is not among the records you may {verb}")
        try:  # an id of the wrong type is refused like any other, and audited without a patient
            patient_id = operator.index(ident if patient_id is None and what == "patient" else patient_id)
        except TypeError:
            patient_id = None
        err.audit = {"actor": actor, "patient_id": patient_id,
                     "detail": {"what": what, "id": str(ident)[:80], "change": change}}
        raise err

    @staticmethod
    def _in_clinic(actor: Actor, clinic_id: int | None) -> bool:
        """Whether a team invite or account of ``clinic_id`` is within ``actor``'s clinic."""
        return actor.is_system or clinic_id == actor.clinic_id

    def _record_denial(self, err: Forbidden) -> None:
        info = getattr(err, "audit", None)
        if info is None or getattr(err, "recorded", False):
            return
        err.recorded = True
        actor, patient_id, patient_clinic = info["actor"], info["patient_id"], None
        own = getattr(actor, "clinic_id", None)
        with self._anonymous_write() as s:
            if patient_id is not None:
                patient_clinic = s.scalar(select(Patient.clinic_id).where(Patient.id == patient_id))
            if patient_clinic is not None and patient_clinic == own:
                self._event(s, actor, "denied", patient_id=patient_id, clinic_id=own, **info["detail"])
                return
            # a missing record or another clinic's read alike in the trier's own clinic's log (its
            # admin could otherwise tell them apart); the other clinic's admin learns that their patient
            # was tried, not who tried (a username is personal)
            self._event(s, actor, "denied", clinic_id=own, **info["detail"])
            if patient_clinic is not None:
                self._event(s, None, "denied", patient_id=patient_id, clinic_id=patient_clinic,
                            by="a user of another clinic", **info["detail"])

    def _require(self, actor: Actor, allowed: bool, what: str, ident="") -> None:
        """Refuse (audited) unless ``allowed``; a signed-out actor is told so first."""
        with self._read(actor):
            if not allowed:
                self._deny(actor, what, ident, change=True)

    def _patient_row(self, s: DbSession, actor: Actor, patient_id: int, *, change: bool = False,
                     asked: tuple[str, object] | None = None) -> Patient:
        """The patient's row if ``actor`` may see it (``change``: and change it); else audited refusal.

        ``asked``: the (what, id) the caller was asked for -- a session, a photo, an account --
        which a refusal names instead of the patient, so it does not tell whose record that is.
        """
        what, ident = asked or ("patient", patient_id)
        if actor.role == "patient" and (change or patient_id != actor.patient_id):
            self._deny(actor, what, ident, change=change, patient_id=patient_id)  # asked nothing of the db
        row = s.get(Patient, patient_id)
        rule = access.may_change_patient if change else access.may_see_patient
        if row is None or not rule(actor, row.id, row.clinic_id):
            self._deny(actor, what, ident, change=change, hide=True, patient_id=patient_id)
        if not change:
            self._audit_view(s, actor, row.id, row.clinic_id)
        return row

    def _audit_view(self, s: DbSession, actor: Actor, patient_id: int, clinic_id: int) -> None:
        """Record that ``actor`` opened this patient's record (at most every 10 minutes per pair)."""
        if actor.is_system:
            return
        key, now = (actor.user_id, patient_id), time.monotonic()
        with self._viewed_lock:
            if now - self._viewed.get(key, -1e18) < _VIEW_AUDIT_EVERY_S:
                return
            self._viewed[key] = now
        if s.info.get("writing"):
            self._event(s, actor, "view", patient_id=patient_id, clinic_id=clinic_id)
            return
        with self._anonymous_write() as w:
            self._event(w, actor, "view", patient_id=patient_id, clinic_id=clinic_id)

    # --- set-up and sign-in --------------------------------------------------------------

    def needs_set_up(self) -> bool:
        """True while the server has no clinic of its own (a new install): the dashboard then offers one.

        A clinic that exists without an admin yet -- made on the server for an admin invite, or
        holding the patients of a release before accounts -- is claimed only with that invite
        (``python -m analyzer invite --role admin``), never by whoever opens the page first.
        """
        with DbSession(self.engine) as s:
            return _own_clinics(s) == 0

    def awaits_first_admin(self) -> bool:
        """Whether the server has a clinic of its own and nobody has an account in it yet (an upgraded
        install, or a clinic made for an invited admin): the sign-in page then says how to begin."""
        with DbSession(self.engine) as s:
            clinics = _own_clinics(s)
            users = s.scalar(select(func.count(User.id)).join(Clinic, Clinic.id == User.clinic_id)
                             .where(Clinic.demo.is_(False)))
            return bool(clinics) and not users

    def has_demo(self) -> bool:
        """Whether a demo clinic with accounts exists (the sign-in page then shows its public password)."""
        with DbSession(self.engine) as s:
            return bool(s.scalar(select(func.count(User.id)).join(Clinic, Clinic.id == User.clinic_id)
                                 .where(Clinic.demo.is_(True))))

    def set_up(self, *, clinic_name: str, username: str, password: str) -> Actor:
        """First run: create the server's clinic and its admin, signed in (see :meth:`needs_set_up`).

        Refused once the server has a clinic of its own: its accounts come by invite.
        """
        name = _clinic_name(clinic_name)
        username = _username(username)
        _check_password(password, username)
        digest = access.hash_password(password)
        with self._anonymous_write() as s:
            if s.bind.dialect.name == "postgresql":  # two first visitors at once: one clinic, one admin
                s.execute(text("LOCK TABLE clinics IN SHARE ROW EXCLUSIVE MODE"))  # (SQLite's writers queue)
            if _own_clinics(s):
                raise SignInRefused("this server's clinic is already set up: sign in, or ask its admin for "
                                    "an invite (its first admin gets one on the server: python -m analyzer "
                                    "invite --role admin)")
            clinic = Clinic(name=name)
            s.add(clinic)
            s.flush()
            user = self._new_user(s, clinic.id, "admin", None, username, digest)
            self._event(s, None, "set_up", clinic_id=clinic.id, username=username)
        return self._start_session(user)

    def create_clinic(self, actor: Actor, name: str, *, demo: bool = False) -> int:
        """A new clinic (system only: ``python -m analyzer invite --role admin --clinic NAME``); its id."""
        name = _clinic_name(name)
        self._require(actor, actor.is_system, "clinic", name)
        with self._write(actor) as s:
            clinic = Clinic(name=name, demo=demo)
            s.add(clinic)
            s.flush()
            self._event(s, actor, "create_clinic", clinic_id=clinic.id, name=name)
        return clinic.id

    def clinic(self, actor: Actor) -> tuple[str, bool]:
        """The actor's clinic: (name, demo)."""
        with self._read(actor) as s:
            clinic = s.get(Clinic, actor.clinic_id)
            return (clinic.name, clinic.demo) if clinic else ("", False)

    def clinics(self, actor: Actor) -> list[tuple[int, str, bool]]:
        """Every clinic as (id, name, demo) (system only)."""
        self._require(actor, actor.is_system, "clinic", "all")
        with self._read(actor) as s:
            rows = s.execute(select(Clinic.id, Clinic.name, Clinic.demo).order_by(Clinic.id))
            return [tuple(r) for r in rows]

    def find_clinic(self, actor: Actor, name: str) -> int | None:
        """The id of the clinic called ``name`` (system only), or None."""
        name = plain(name)
        self._require(actor, actor.is_system, "clinic", name)
        with self._read(actor) as s:
            return s.scalar(select(Clinic.id).where(Clinic.name == name)
                            .order_by(Clinic.id))

    def sign_in(self, username: str, password: str) -> Actor:
        """The signed-in actor, or :class:`SignInRefused` ("wrong username or password", or locked)."""
        key = _username_key(username)
        now = self.clock()
        with DbSession(self.engine) as s:
            throttle = s.get(LoginThrottle, key)
            if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
                wait = max(1, round((throttle.locked_until - now).total_seconds()))
                raise SignInRefused(f"Too many failed sign-ins for this username: try again in {wait} s.")
            user = s.scalars(select(User).where(User.username_key == key)).first()
        ok = access.verify_password(None if user is None else user.password_hash, str(password)[:1024])
        if not ok or user is None or user.disabled:
            with self._anonymous_write() as s:
                row = s.get(LoginThrottle, key) or LoginThrottle(username_key=key, failures=0)
                row.failures += 1
                wait = self.policy.lockout(row.failures)
                row.locked_until = None if wait is None else now + wait
                s.add(row)
                self._event(s, None, "sign_in_failed", clinic_id=None if user is None else user.clinic_id,
                            username=key, failures=row.failures)
            if ok and user is not None and user.disabled:
                raise SignInRefused("This account is disabled: ask the clinic.")
            raise SignInRefused("Wrong username or password.")
        if access.needs_rehash(user.password_hash):
            user.password_hash = access.hash_password(password)
        with self._anonymous_write() as s:
            s.execute(update(LoginThrottle).where(LoginThrottle.username_key == key)
                      .values(failures=0, locked_until=None))
            s.execute(update(User).where(User.id == user.id)
                      .values(last_login_at=now, password_hash=user.password_hash))
        return self._start_session(user)

    def _start_session(self, user: User) -> Actor:
        actor = Actor(user.role, user.id, user.clinic_id, user.patient_id, user.username, access.session_id())
        now = self.clock()
        with self._anonymous_write() as s:
            s.add(LoginSession(id=actor.session_id, user_id=user.id, created_at=now, last_seen_at=now))
            self._event(s, actor, "sign_in", patient_id=user.patient_id)
        return actor

    def resume(self, actor: Actor) -> Actor:
        """Check that ``actor``'s session is still signed in and note the activity; the actor again.

        Raises :class:`SignInRefused` (why) when it has ended.
        """
        with self._read(actor) as s:
            if actor.is_system:
                return actor
            seen = s.get(LoginSession, actor.session_id).last_seen_at
        now = self.clock()
        if (now - seen).total_seconds() >= _SEEN_EVERY_S:
            with self._anonymous_write() as s:
                s.execute(update(LoginSession).where(LoginSession.id == actor.session_id)
                          .values(last_seen_at=now))
        return actor

    def sign_out(self, actor: Actor) -> None:
        """End ``actor``'s session (nothing happens if it already ended)."""
        if actor.is_system or actor.session_id is None:
            return
        with self._anonymous_write() as s:
            ended = s.execute(update(LoginSession).where(LoginSession.id == actor.session_id,
                                                         LoginSession.ended_at.is_(None))
                              .values(ended_at=self.clock())).rowcount
            if ended:
                self._event(s, actor, "sign_out")

    def change_password(self, actor: Actor, old: str, new: str) -> None:
        """Change the actor's own password (the old one is asked again); other sessions end."""
        with self._read(actor) as s:
            user = s.get(User, actor.user_id)
        if user is None or not access.verify_password(user.password_hash, old):
            raise SignInRefused("the current password is wrong")
        _check_password(new, user.username)
        digest = access.hash_password(new)
        with self._write(actor) as s:
            s.execute(update(User).where(User.id == user.id).values(password_hash=digest))
            s.execute(update(LoginSession).where(LoginSession.user_id == user.id,
                                                 LoginSession.id != actor.session_id,
                                                 LoginSession.ended_at.is_(None)).values(ended_at=self.clock()))
            self._event(s, actor, "change_password")

    # --- invites -----------------------------------------------------------------------

    def invite(self, actor: Actor, *, role: str = "patient", patient_id: int | None = None,
               clinic_id: int | None = None) -> Invitation:
        """A one-time code that creates an account of ``role`` (or resets a patient's password).

        Practitioners invite their clinic's patients (``patient_id``); admins also
        invite practitioners and admins; the system names the ``clinic_id``.
        """
        if role not in access.ROLES:
            raise SignInRefused(f"unknown role {role!r}: use admin, practitioner or patient")
        now = self.clock()
        with self._write(actor) as s:
            if role == "patient":
                if patient_id is None:
                    raise SignInRefused("a patient invite needs the patient")
                clinic_id = self._patient_row(s, actor, patient_id, change=True).clinic_id
            else:
                if patient_id is not None:
                    raise SignInRefused("only a patient invite names a patient")
                clinic_id = actor.clinic_id if not actor.is_system else clinic_id
                if not actor.is_admin or clinic_id is None or s.get(Clinic, clinic_id) is None:
                    self._deny(actor, "invite", role, change=True)
            code = access.invite_code()
            row = Invite(code_hash=access.invite_code_hash(code), clinic_id=clinic_id, role=role,
                         patient_id=patient_id, created_by=actor.user_id, created_at=now,
                         expires_at=now + dt.timedelta(days=self.policy.invite_days))
            s.add(row)
            s.flush()
            self._event(s, actor, "invite", patient_id=patient_id, clinic_id=clinic_id, role=role,
                        invite=row.id)
        return Invitation(code, _invite(row, now))

    def invites(self, actor: Actor, *, patient_id: int | None = None) -> list[InviteRecord]:
        """Invites of one patient, or (admin) of the clinic's team, newest first."""
        with self._read(actor) as s:
            stmt = select(Invite).order_by(Invite.created_at.desc(), Invite.id.desc())
            if patient_id is not None:
                self._patient_row(s, actor, patient_id, change=True)
                stmt = stmt.where(Invite.patient_id == patient_id)
            else:
                if not actor.is_admin:
                    self._deny(actor, "invite", "team")
                stmt = stmt.where(Invite.patient_id.is_(None))
                if not actor.is_system:
                    stmt = stmt.where(Invite.clinic_id == actor.clinic_id)
            now = self.clock()
            return [_invite(r, now) for r in s.scalars(stmt)]

    def revoke_invite(self, actor: Actor, invite_id: int) -> None:
        """Make an invite unusable (one already used stays used)."""
        with self._write(actor) as s:
            row = s.get(Invite, invite_id)
            if row is None or (row.patient_id is None and not self._in_clinic(actor, row.clinic_id)):
                self._deny(actor, "invite", invite_id, change=True, hide=True)
            if row.patient_id is not None:
                self._patient_row(s, actor, row.patient_id, change=True, asked=("invite", invite_id))
            elif not actor.is_admin:
                self._deny(actor, "invite", invite_id, change=True)
            if row.used_at is None and row.revoked_at is None:
                row.revoked_at = self.clock()
                self._event(s, actor, "revoke_invite", patient_id=row.patient_id, clinic_id=row.clinic_id,
                            invite=row.id)

    def redeem_invite(self, code: str, *, username: str, password: str) -> Actor:
        """Use an invite: create the account (or set a patient's new password) and sign in.

        Raises :class:`SignInRefused` for a code that is unknown, used, revoked or
        expired (one message for all four), a taken username or a weak password.
        """
        digest_code = access.invite_code_hash(code)
        now = self.clock()
        with DbSession(self.engine) as s:
            row = s.scalars(select(Invite).where(Invite.code_hash == digest_code)).first()
            existing = None if row is None or row.patient_id is None else s.scalars(
                select(User).where(User.patient_id == row.patient_id)).first()
        if row is None or row.used_at or row.revoked_at or row.expires_at <= now:
            with self._anonymous_write() as s:
                self._event(s, None, "invite_refused", clinic_id=None if row is None else row.clinic_id,
                            invite=None if row is None else row.id)
            raise SignInRefused("This invite code is not valid: it may have expired, been used or been "
                                "revoked. Ask the clinic for a new one.")
        username = existing.username if existing is not None else _username(username)
        _check_password(password, username)
        digest = access.hash_password(password)
        try:
            with self._anonymous_write() as s:
                claimed = s.execute(update(Invite).where(Invite.id == row.id, Invite.used_at.is_(None),
                                                         Invite.revoked_at.is_(None))
                                    .values(used_at=now)).rowcount
                if not claimed:  # used or revoked a moment ago
                    raise SignInRefused("This invite code is not valid any more. "
                                        "Ask the clinic for a new one.")
                if existing is not None:
                    user = s.get(User, existing.id)
                    user.password_hash, user.disabled = digest, False
                    s.execute(update(LoginSession).where(LoginSession.user_id == user.id,
                                                         LoginSession.ended_at.is_(None)).values(ended_at=now))
                else:
                    user = self._new_user(s, row.clinic_id, row.role, row.patient_id, username, digest)
                self._event(s, None, "redeem_invite", patient_id=row.patient_id, clinic_id=row.clinic_id,
                            invite=row.id, user=user.id, reset=existing is not None)
        except IntegrityError:
            raise SignInRefused(f"the username {username!r} is taken: choose another") from None
        return self._start_session(user)

    def _new_user(self, s: DbSession, clinic_id: int, role: str, patient_id: int | None, username: str,
                  digest: str) -> User:
        key = _username_key(username)
        if s.scalar(select(func.count(User.id)).where(User.username_key == key)):
            raise SignInRefused(f"the username {username!r} is taken: choose another")
        user = User(clinic_id=clinic_id, username=username, username_key=key, role=role,
                    patient_id=patient_id, password_hash=digest, created_at=self.clock())
        s.add(user)
        s.flush()
        return user

    # --- the team and the audit log ---------------------------------------------------------

    def users(self, actor: Actor, *, patient_id: int | None = None) -> list[UserRecord]:
        """Accounts: a patient's (staff), or the whole clinic's (admin)."""
        with self._read(actor) as s:
            stmt = select(User).order_by(User.role, User.username_key)
            if patient_id is not None:
                self._patient_row(s, actor, patient_id, change=True)
                stmt = stmt.where(User.patient_id == patient_id)
            else:
                if not actor.is_admin:
                    self._deny(actor, "users", "clinic")
                if not actor.is_system:
                    stmt = stmt.where(User.clinic_id == actor.clinic_id)
            return [_user(u) for u in s.scalars(stmt)]

    def set_disabled(self, actor: Actor, user_id: int, disabled: bool = True) -> None:
        """Disable (or enable) an account; a disabled account's sessions end at once.

        Admins manage their clinic's accounts; practitioners their patients'. Nobody disables themselves.
        """
        with self._write(actor) as s:
            user = s.get(User, user_id)
            if user is None or (user.patient_id is None and not self._in_clinic(actor, user.clinic_id)):
                self._deny(actor, "user", user_id, change=True, hide=True)
            if user.id == actor.user_id:
                self._deny(actor, "user", user_id, change=True)
            if user.patient_id is not None:
                self._patient_row(s, actor, user.patient_id, change=True, asked=("user", user_id))
            elif not actor.is_admin:
                self._deny(actor, "user", user_id, change=True)
            user.disabled = bool(disabled)
            if disabled:
                s.execute(update(LoginSession).where(LoginSession.user_id == user.id,
                                                     LoginSession.ended_at.is_(None))
                          .values(ended_at=self.clock()))
            self._event(s, actor, "disable_user" if disabled else "enable_user", patient_id=user.patient_id,
                        clinic_id=user.clinic_id, user=user.id)

    def audit(self, actor: Actor, *, patient_id: int | None = None, action: str | None = None,
              limit: int = 1000) -> list[AuditRecord]:
        """The audit log of the actor's clinic (admin; the system sees every clinic's), newest first."""
        self._require(actor, actor.is_admin, "audit log", "clinic")
        stmt = (select(AuditEvent, User.username).outerjoin(User, User.id == AuditEvent.user_id)
                .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit))
        if not actor.is_system:
            stmt = stmt.where(AuditEvent.clinic_id == actor.clinic_id)
        if patient_id is not None:
            stmt = stmt.where(AuditEvent.patient_id == patient_id)
        if action is not None:
            stmt = stmt.where(AuditEvent.action == action)
        with self._read(actor) as s:
            rows = s.execute(stmt).all()
        return [AuditRecord(e.at, name or e.detail.get("by") or e.detail.get("username") or "—", e.user_id,
                            e.clinic_id, e.patient_id, e.action, e.detail) for e, name in rows]


def _own_clinics(s: DbSession) -> int:
    """How many clinics the server has of its own (not demo ones)."""
    return s.scalar(select(func.count(Clinic.id)).where(Clinic.demo.is_(False)))


def _clinic_name(name: str) -> str:
    name = plain(name)
    if not name or len(name) > 200:
        raise SignInRefused("the clinic needs a name of at most 200 characters")
    return name


def _username(name: str) -> str:
    name = str(name or "").strip()
    if not 3 <= len(name) <= 80 or not set(name.casefold()) <= _USERNAME_CHARS:
        raise SignInRefused("a username has 3 to 80 characters: letters, digits and . _ - @")
    return name


def _username_key(name: str) -> str:
    return str(name or "").strip().casefold()[:80]


def _check_password(password: str, username: str) -> None:
    problem = access.password_problem(password, username)
    if problem:
        raise SignInRefused(problem)


def _invite(row: Invite, now: dt.datetime) -> InviteRecord:
    status = ("used" if row.used_at else "revoked" if row.revoked_at
              else "expired" if row.expires_at <= now else "pending")
    return InviteRecord(row.id, row.role, row.clinic_id, row.patient_id, row.created_at, row.expires_at,
                        status)


def _user(u: User) -> UserRecord:
    return UserRecord(u.id, u.username, u.role, u.clinic_id, u.patient_id, u.disabled, u.created_at,
                      u.last_login_at)

