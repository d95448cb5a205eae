"""Accounts and access rules, tried by someone breaking in (SQLite and PostgreSQL).

What patients and clinics rely on: a patient reaches their own record and
nothing else, whatever id they try, and every try is in the audit log; a
practitioner reaches only their clinic's patients; guessing passwords is
slowed; an invite works once, until it expires or is revoked; a signed-out,
idle, too-old or disabled session can do nothing.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pytest
from PIL import Image

from analyzer.records import (
    Actor,
    Forbidden,
    NotFound,
    PhotoUpload,
    SignInRefused,
    export_patient,
    metrics_csv,
    reanalyze,
)
from analyzer.records.access import verify_password
from analyzer.records.models import LoginSession, User

WHEN = dt.datetime(2026, 3, 2, 9, 30)
SYSTEM = Actor.system("tests")
PASSWORD = "patient password 1"


def _jpeg(seed: int) -> bytes:
    from skimage import data

    image = data.astronaut()[::2, ::2].copy()
    image[:8, :8] = seed
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _patient_account(records, me, name: str, username: str, seed: int):
    """A patient with one analysed visit (front photo), and their signed-in account."""
    p = records.create_patient(me, name=name, photo_consent=True)
    s = records.add_session(me, p.id, started_at=WHEN, photos=[PhotoUpload(_jpeg(seed))])
    records.analyze(me, s.photos[0].id)
    invite = records.invite(me, patient_id=p.id)
    return p, s, records.redeem_invite(invite.code, username=username, password=PASSWORD)


@pytest.fixture
def clinic(records, me):
    """Ana and Ben, patients of one clinic, each signed in; Ben's visit has an analysis with images."""
    ana, ana_visit, ana_login = _patient_account(records, me, "Ana", "ana", 1)
    ben, ben_visit, ben_login = _patient_account(records, me, "Ben", "ben", 2)
    later = records.add_session(me, ben.id, started_at=WHEN + dt.timedelta(days=30),
                                photos=[PhotoUpload(_jpeg(99))])
    analysis = records.analyze(me, later.photos[0].id)
    return {"ana": (ana, ana_visit, ana_login), "ben": (ben, ben_visit, ben_login), "ben_later": later,
            "ben_analysis": analysis}


# Every repository function, called by Ana on Ben's record (or on anything beyond a patient's reach).
def _attempts(records, c):
    ben, ben_visit, _ = c["ben"]
    photo = ben_visit.photos[0]
    later = c["ben_later"].photos[0]
    derived = next(iter(c["ben_analysis"].images.values()))
    upload = PhotoUpload(_jpeg(7))
    return {
        "patient": lambda a: records.patient(a, ben.id),
        "sessions": lambda a: records.sessions(a, ben.id),
        "session": lambda a: records.session(a, ben_visit.id),
        "photo": lambda a: records.photo(a, photo.id),
        "image of a photo": lambda a: records.image(a, photo.sha256),
        "image of a change map": lambda a: records.image(a, derived),
        "views": lambda a: records.views(a, ben.id),
        "baseline": lambda a: records.baseline(a, ben.id, "front"),
        "analysis": lambda a: records.analysis(a, later.id),
        "timeline": lambda a: records.timeline(a, ben.id),
        "export": lambda a: export_patient(records, a, ben.id, io.BytesIO()),
        "metrics csv": lambda a: metrics_csv(records, a, ben.id),
        "log": lambda a: records.log(a, "export", ben.id),
        "update": lambda a: records.update_patient(a, ben.id, name="Hacked"),
        "add session": lambda a: records.add_session(a, ben.id, started_at=WHEN, photos=[upload]),
        "add photos": lambda a: records.add_photos(a, ben_visit.id, [PhotoUpload(_jpeg(8), "left")]),
        "prepare photo": lambda a: records.prepare_photo(a, ben.id, upload),
        "analyze": lambda a: records.analyze(a, later.id),
        "measured area": lambda a: records.measured_area(a, ben.id, "front"),
        "draw the measured area": lambda a: records.set_measured_area(a, ben.id, "front",
                                                                      [(10, 10), (200, 10), (100, 200)]),
        "erase": lambda a: records.delete_patient(a, ben.id),
        "invite for them": lambda a: records.invite(a, patient_id=ben.id),
        "their invites": lambda a: records.invites(a, patient_id=ben.id),
        "their account": lambda a: records.users(a, patient_id=ben.id),
        "disable their account": lambda a: records.set_disabled(a, c["ben"][2].user_id),
        "patient list": lambda a: records.find_patients(a),
        "new patient": lambda a: records.create_patient(a, name="Mallory"),
        "invite a practitioner": lambda a: records.invite(a, role="practitioner"),
        "team": lambda a: records.users(a),
        "audit log": lambda a: records.audit(a),
        "archive": lambda a: records.pending_analyses(a),
        "store": lambda a: records.sweep_orphans(a),
        "save an analysis": lambda a: records.save_analysis(a, later.id, photo.id, None),
    }


ATTEMPTS = [
    "patient", "sessions", "session", "photo", "image of a photo", "image of a change map", "views",
    "baseline", "analysis", "timeline", "export", "metrics csv", "log", "update", "add session",
    "add photos", "prepare photo", "analyze", "measured area", "draw the measured area", "erase",
    "invite for them", "their invites", "their account",
    "disable their account", "patient list", "new patient", "invite a practitioner", "team", "audit log",
    "archive", "store", "save an analysis"]


def test_the_attempts_cover_every_public_repository_function(records, clinic):
    import inspect

    from analyzer.records import Records

    public = {name for name, _ in inspect.getmembers(Records, inspect.isfunction) if not name.startswith("_")}
    not_patient_data = {"open", "close", "clock", "needs_set_up", "set_up", "sign_in", "resume", "sign_out",
                        "redeem_invite", "has_demo", "awaits_first_admin", "change_password", "clinic",
                        "create_clinic", "find_clinic", "clinics", "revoke_invite", "invite", "invites",
                        "users", "set_disabled", "audit"}
    called = {"patient", "sessions", "session", "photo", "image", "views", "baseline", "analysis", "timeline",
              "log", "update_patient", "add_session", "add_photos", "prepare_photo", "analyze",
              "measured_area", "set_measured_area", "delete_patient", "find_patients", "create_patient",
              "pending_analyses", "sweep_orphans",
              "save_analysis"}
    assert public - not_patient_data == called
    assert list(_attempts(records, clinic)) == ATTEMPTS


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_a_patient_reaches_no_other_record_and_every_try_is_audited(records, me, clinic, attempt):
    _, _, ana = clinic["ana"]
    before = len(records.audit(me, action="denied"))
    with pytest.raises(Forbidden) as refused:
        _attempts(records, clinic)[attempt](ana)
    assert "Ben" not in str(refused.value)  # says nothing of what is there
    denied = records.audit(me, action="denied")
    assert len(denied) == before + 1 and denied[0].who == "ana" and denied[0].user_id == ana.user_id
    assert records.patient(me, clinic["ben"][0].id).name == "Ben"  # nothing changed


def test_a_patient_reads_their_own_record_and_changes_nothing(records, me, clinic):
    ana, visit, login = clinic["ana"]
    assert records.patient(login, ana.id).name == "Ana"
    assert [s.id for s in records.sessions(login, ana.id)] == [visit.id]
    timeline = records.timeline(login, ana.id)
    assert timeline.points[0].status == "measured"
    image = records.image(login, visit.photos[0].sha256)
    assert image.ndim == 3
    buf = io.BytesIO()
    export_patient(records, login, ana.id, buf)  # their right of access
    assert len(buf.getvalue()) > 1000
    assert records.measured_area(login, ana.id, "front") is None
    for change in (lambda: records.update_patient(login, ana.id, name="Ana B"),
                   lambda: records.add_session(login, ana.id, started_at=WHEN),
                   lambda: records.set_measured_area(login, ana.id, "front", [(0, 0), (90, 0), (0, 90)]),
                   lambda: records.invite(login, patient_id=ana.id)):
        with pytest.raises(Forbidden):
            change()
    assert records.patient(me, ana.id).name == "Ana"


def test_a_practitioner_reaches_only_their_own_clinics_patients(records, me, clinic):
    other_clinic = records.create_clinic(SYSTEM, "Other Clinic")
    invite = records.invite(SYSTEM, role="admin", clinic_id=other_clinic)
    stranger = records.redeem_invite(invite.code, username="stranger", password="stranger password")
    mine = records.create_patient(stranger, name="Their Own Patient")
    assert [p.name for p in records.find_patients(stranger)] == ["Their Own Patient"]
    assert "Their Own Patient" not in [p.name for p in records.find_patients(me)]
    ben = clinic["ben"][0]
    for attempt in (lambda: records.patient(stranger, ben.id), lambda: records.timeline(stranger, ben.id),
                    lambda: records.delete_patient(stranger, ben.id)):
        with pytest.raises(NotFound, match=f"^no patient {ben.id}$"):  # as if there were none
            attempt()
    with pytest.raises(NotFound):
        records.image(stranger, clinic["ben"][1].photos[0].sha256)
    with pytest.raises(NotFound):
        records.patient(me, mine.id)
    # each admin's audit log shows their own clinic's events only
    assert {e.clinic_id for e in records.audit(stranger)} == {other_clinic}
    assert other_clinic not in {e.clinic_id for e in records.audit(me)}
    # the tries on Ben (not the image's, asked by its hash): who made them in the stranger's clinic's
    # log; in this clinic's, that Ben was tried, not by whom (it had shown the stranger's username)
    tried = [e for e in records.audit(stranger, action="denied") if e.detail.get("id") == str(ben.id)]
    assert len(tried) == 3 and {e.who for e in tried} == {"stranger"}
    assert {e.patient_id for e in tried} == {None}
    mine = [e for e in records.audit(me, action="denied") if e.patient_id == ben.id]
    assert len(mine) == 3 and {e.who for e in mine} == {"a user of another clinic"}
    assert not any("stranger" in str(e.detail) or e.user_id for e in mine)


def test_another_clinics_records_read_as_missing_so_their_ids_cannot_be_counted(records, me, clinic):
    other_clinic = records.create_clinic(SYSTEM, "Other Clinic")
    invite = records.invite(SYSTEM, role="admin", clinic_id=other_clinic)
    stranger = records.redeem_invite(invite.code, username="stranger", password="stranger password")
    ben, visit, ben_login = clinic["ben"]
    photo, missing = visit.photos[0], 10_000
    team_invite = records.invite(me, role="practitioner").invite.id
    ben_invite = records.invite(me, patient_id=ben.id).invite.id

    def refusal(call, ident) -> tuple[type, str]:
        with pytest.raises(LookupError) as err:
            call(ident)
        return type(err.value), str(err.value).replace(str(ident)[:12], "<id>")  # a hash by its first 12

    for call, theirs, said in [
        (lambda i: records.patient(stranger, i), ben.id, "no patient <id>"),
        (lambda i: records.update_patient(stranger, i, contraindications="x"), ben.id, "no patient <id>"),
        (lambda i: records.timeline(stranger, i), ben.id, "no patient <id>"),
        (lambda i: records.session(stranger, i), visit.id, "no session <id>"),  # not whose visit it is
        (lambda i: records.add_photos(stranger, i, [PhotoUpload(_jpeg(5))]), visit.id, "no session <id>"),
        (lambda i: records.photo(stranger, i), photo.id, "no photo <id>"),
        (lambda i: records.analysis(stranger, i), photo.id, "no photo <id>"),
        (lambda i: records.revoke_invite(stranger, i), team_invite, "no invite <id>"),
        (lambda i: records.revoke_invite(stranger, i), ben_invite, "no invite <id>"),  # not whose it is
        (lambda i: records.set_disabled(stranger, i), me.user_id, "no user <id>"),
        (lambda i: records.set_disabled(stranger, i), ben_login.user_id, "no user <id>"),
    ]:
        assert refusal(call, theirs) == refusal(call, missing) == (NotFound, said)
    no_image = lambda sha: records.image(stranger, sha)  # noqa: E731
    assert refusal(no_image, photo.sha256) == refusal(no_image, "0" * 64) == (NotFound, "no image <id>")
    assert {i.status for i in records.invites(me)} == {"pending"}
    assert not records.users(me, patient_id=ben.id)[0].disabled
    # the stranger's admin cannot tell the two apart in their own audit log either ...
    denied = records.audit(stranger, action="denied")
    assert len(denied) == 24 and {e.patient_id for e in denied} == {None}
    assert {e.who for e in denied} == {"stranger"}
    # ... while Ben's clinic sees each try at Ben (his record, invite and account), not who made it
    tried = records.audit(me, action="denied")
    assert len(tried) == 9 and {e.patient_id for e in tried} == {ben.id}
    assert {e.who for e in tried} == {"a user of another clinic"}


def test_an_id_of_the_wrong_type_is_refused_and_audited(records, clinic):
    ana_login = clinic["ana"][2]
    with pytest.raises(Forbidden):
        records.patient(ana_login, "not a number")
    assert records.audit(SYSTEM, action="denied")[0].detail["id"] == "not a number"


def test_a_practitioner_works_on_patients_but_cannot_erase_or_manage_the_team(records, me, clinic):
    invite = records.invite(me, role="practitioner")
    doc = records.redeem_invite(invite.code, username="doc", password="doctor password")
    ben = clinic["ben"][0]
    assert records.update_patient(doc, ben.id, contraindications="keloid").contraindications == "keloid"
    records.invite(doc, patient_id=ben.id)
    for attempt in (lambda: records.delete_patient(doc, ben.id), lambda: records.audit(doc),
                    lambda: records.users(doc), lambda: records.invite(doc, role="practitioner")):
        with pytest.raises(Forbidden):
            attempt()
    records.delete_patient(me, ben.id)  # the admin may
    with pytest.raises(NotFound):
        records.patient(me, ben.id)


# --- sign-in --------------------------------------------------------------------------------

def _later(records, monkeypatch, **delta) -> None:
    now = records.clock() + dt.timedelta(**delta)
    monkeypatch.setattr(records, "clock", lambda: now)


def test_passwords_are_stored_as_argon2id_hashes_only(records, me):
    with records.engine.connect() as conn:
        (stored,) = conn.execute(User.__table__.select().with_only_columns(User.password_hash)).one()
    assert stored.startswith("$argon2id$") and "admin password 1" not in stored
    assert verify_password(stored, "admin password 1") and not verify_password(stored, "admin password 2")
    assert not verify_password(None, "anything")  # an unknown user never matches


@pytest.mark.parametrize(("password", "why"), [
    ("short", "at least 10 characters"), ("x" * 300, "at most 256"), ("aaaaaaaaaaaa", "more than three"),
    ("Somebody_1", "cannot be the username")])
def test_weak_passwords_are_refused_with_the_reason(records, me, password, why):
    invite = records.invite(me, role="practitioner")
    with pytest.raises(SignInRefused, match=why):
        records.redeem_invite(invite.code, username="somebody_1", password=password)
    assert records.invites(me)[0].status == "pending"  # the code is not spent on a refusal


def test_guessing_passwords_is_slowed_and_a_correct_one_waits_too(records, me, monkeypatch):
    for _ in range(5):  # Policy.free_failures
        with pytest.raises(SignInRefused, match="Wrong username or password"):
            records.sign_in("admin", "a guess at it")
    with pytest.raises(SignInRefused, match=r"try again in 30 s"):
        records.sign_in("admin", "admin password 1")  # locked: even the right password waits
    _later(records, monkeypatch, seconds=31)
    with pytest.raises(SignInRefused, match="Wrong username"):
        records.sign_in("admin", "another guess")
    with pytest.raises(SignInRefused, match=r"try again in 60 s"):  # each failure doubles the wait
        records.sign_in("admin", "admin password 1")
    _later(records, monkeypatch, seconds=61)
    assert records.sign_in("admin", "admin password 1").role == "admin"
    with pytest.raises(SignInRefused, match="Wrong username"):  # success reset the count
        records.sign_in("admin", "one more guess")
    failed = records.audit(me, action="sign_in_failed")
    assert len(failed) == 7


def test_unknown_usernames_are_throttled_alike(records, me):
    for _ in range(5):
        with pytest.raises(SignInRefused, match="Wrong username or password"):
            records.sign_in("nobody-here", "a guess at it")
    with pytest.raises(SignInRefused, match="Too many failed sign-ins"):
        records.sign_in("nobody-here", "a guess at it")


def test_a_signed_out_session_cannot_act(records, me, clinic):
    ana, _, login = clinic["ana"]
    records.sign_out(login)
    for attempt in (lambda: records.patient(login, ana.id), lambda: records.resume(login),
                    lambda: records.timeline(login, ana.id)):
        with pytest.raises(SignInRefused, match="signed out"):
            attempt()
    assert records.sign_in("ana", PASSWORD).patient_id == ana.id


def test_an_idle_or_old_session_ends(records, me, monkeypatch):
    _later(records, monkeypatch, minutes=29)
    me = records.resume(me)  # activity keeps it going
    _later(records, monkeypatch, minutes=29)
    assert records.find_patients(me) == []
    _later(records, monkeypatch, minutes=31)
    with pytest.raises(SignInRefused, match="30 minutes without activity"):
        records.find_patients(me)
    fresh = records.sign_in("admin", "admin password 1")
    for _ in range(25):  # active all day (11 h 40 min) ...
        _later(records, monkeypatch, minutes=28)
        fresh = records.resume(fresh)
    _later(records, monkeypatch, minutes=28)
    with pytest.raises(SignInRefused, match="12 hours after signing in"):  # ... still ended after 12 h
        records.resume(fresh)


def test_a_disabled_account_is_signed_out_at_once(records, me, clinic):
    ana, _, login = clinic["ana"]
    records.set_disabled(me, login.user_id)
    with pytest.raises(SignInRefused):
        records.patient(login, ana.id)
    with pytest.raises(SignInRefused, match="disabled"):
        records.sign_in("ana", PASSWORD)
    with pytest.raises(Forbidden):
        records.set_disabled(me, me.user_id)  # nobody locks themselves out


def test_changing_the_password_ends_other_sessions(records, me):
    elsewhere = records.sign_in("admin", "admin password 1")
    with pytest.raises(SignInRefused, match="current password is wrong"):
        records.change_password(me, "not it at all", "a new password 2")
    records.change_password(me, "admin password 1", "a new password 2")
    records.resume(me)
    with pytest.raises(SignInRefused):
        records.resume(elsewhere)
    with pytest.raises(SignInRefused):
        records.sign_in("admin", "admin password 1")
    assert records.sign_in("admin", "a new password 2").user_id == me.user_id


# --- invites ----------------------------------------------------------------------------------

def test_an_invite_works_once_in_any_case_and_spacing(records, me, clinic):
    ben = clinic["ben"][0]
    records.set_disabled(me, clinic["ben"][2].user_id)
    code = records.invite(me, patient_id=ben.id).code
    typed = code.lower().replace("-", " ").replace("0", "o")
    again = records.redeem_invite(typed, username="ignored", password="ben's new password")
    assert (again.username, again.patient_id) == ("ben", ben.id)  # an existing account: a new password
    with pytest.raises(SignInRefused, match="not valid"):
        records.redeem_invite(code, username="ben2", password="yet another password")


def test_an_expired_invite_does_not_work(records, me, monkeypatch):
    code = records.invite(me, role="practitioner").code
    _later(records, monkeypatch, days=7, seconds=1)
    with pytest.raises(SignInRefused, match="not valid"):
        records.redeem_invite(code, username="late", password="late password 1")
    me = records.sign_in("admin", "admin password 1")  # a week later
    assert records.invites(me)[0].status == "expired"
    assert records.audit(me, action="invite_refused")


def test_a_revoked_invite_does_not_work(records, me, clinic):
    ana = clinic["ana"][0]
    invite = records.invite(me, patient_id=ana.id)
    records.revoke_invite(me, invite.invite.id)
    with pytest.raises(SignInRefused, match="not valid"):
        records.redeem_invite(invite.code, username="ana2", password="ana's other password")
    assert records.invites(me, patient_id=ana.id)[0].status == "revoked"


def test_a_made_up_code_does_not_work_and_codes_are_unguessable(records, me):
    codes = {records.invite(me, role="practitioner").code for _ in range(20)}
    assert len(codes) == 20 and all(len(c) == 19 for c in codes)  # 16 base-32 characters: 80 bits
    with pytest.raises(SignInRefused, match="not valid"):
        records.redeem_invite("AAAA-BBBB-CCCC-DDDD", username="guess", password="guessing password")


def test_a_username_cannot_be_taken_twice(records, me):
    code = records.invite(me, role="practitioner").code
    with pytest.raises(SignInRefused, match="taken"):
        records.redeem_invite(code, username="ADMIN", password="another password 9")
    assert records.invites(me)[0].status == "pending"


def test_first_run_set_up_happens_once(records, me):
    assert not records.needs_set_up()
    with pytest.raises(SignInRefused, match="already set up"):
        records.set_up(clinic_name="Takeover", username="mallory", password="mallory password")


# --- the audit log ------------------------------------------------------------------------------

def test_the_audit_log_says_who_viewed_changed_and_exported_what(records, me, clinic, monkeypatch):
    ben, _, login = clinic["ben"]
    records.timeline(login, ben.id)
    records.timeline(login, ben.id)  # a second look within 10 minutes: one event
    export_patient(records, me, ben.id, io.BytesIO())
    events = records.audit(me, patient_id=ben.id)
    actions = [(e.who, e.action) for e in events]
    assert actions.count(("ben", "view")) == 1
    assert ("admin", "export") in actions and ("admin", "add_session") in actions
    assert ("admin", "create_patient") in actions and ("ben", "sign_in") in actions
    assert all(e.at <= records.clock() for e in events)
    reanalyze(records, workers=1, progress=False)
    assert not any(e.action == "view" and e.who.startswith("system") for e in records.audit(SYSTEM))


def test_erasing_a_patient_ends_their_account_and_sessions(records, me, clinic):
    ben, _, login = clinic["ben"]
    records.delete_patient(me, ben.id)
    with pytest.raises(SignInRefused):
        records.resume(login)
    with pytest.raises(SignInRefused):
        records.sign_in("ben", PASSWORD)
    with records.engine.connect() as conn:
        assert conn.execute(LoginSession.__table__.select().where(LoginSession.user_id == login.user_id)
                            ).first() is None
    assert records.audit(me, action="erase")[0].patient_id == ben.id


def test_the_system_actor_is_not_a_signed_in_user(records, me):
    forged = Actor("admin", me.user_id, me.clinic_id, None, "admin", session_id="0" * 64)
    with pytest.raises(SignInRefused):
        records.find_patients(forged)
    with pytest.raises(TypeError, match="acting user"):
        records.timeline("admin", 1)


def test_a_patient_photo_upload_by_a_patient_is_refused_before_decoding(records, me, clinic):
    ana, _, login = clinic["ana"]
    with pytest.raises(Forbidden):
        records.prepare_photo(login, ana.id, PhotoUpload(np.zeros(10, np.uint8).tobytes()))
