"""The command line: ``python -m analyzer`` (also installed as ``skin-analyzer``).

It mirrors the public API so a clinic can script the analyzer without Python:

    python -m analyzer analyze PHOTO [--json] [--mask MASK.png]
    python -m analyzer compare BEFORE AFTER [--json] [--heatmap OUT.png] [--mask MASK.png]
    python -m analyzer reanalyze [--workers N] [--all] [--json]
    python -m analyzer demo [--folder DIR]

Exit status: 0 on success, 2 with a one-line reason on stderr when an input is
not a usable photo (or the arguments are wrong); ``reanalyze`` exits 1 when
some photos could not be analysed (listed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Sequence

from analyzer import __version__
from analyzer.compare import NoSkin, analyze, compare
from analyzer.heatmap import change_heatmap
from analyzer.images import InvalidImage, load_mask, load_photo, to_png_bytes
from analyzer.metrics import info
from analyzer.quality import assess

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result = args.run(args)
    except (InvalidImage, CommandError, NoSkin) as err:
        print(f"skin-analyzer: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"skin-analyzer: error: cannot write {err.filename}: {err.strerror}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(result, sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write("\n")
    else:
        _print_text(result)
    return getattr(args, "exit_status", 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skin-analyzer",
        description="Align skin-treatment photos to the baseline and measure the skin.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    analyze = commands.add_parser("analyze", help="read one photo and report on it")
    analyze.add_argument("photo", metavar="PHOTO", help="JPEG, PNG, HEIC, TIFF or WebP file")
    analyze.add_argument("--json", action="store_true", help="print JSON instead of text")
    analyze.add_argument("--px-per-mm", type=float, metavar="SCALE",
                         help="known scale in pixels per millimetre (default: from the face's size)")
    analyze.add_argument("--mask", metavar="MASK.png", help=_MASK_HELP.format(photo="the photo"))
    analyze.set_defaults(run=_analyze)

    compare = commands.add_parser("compare", help="read a before and an after photo")
    compare.add_argument("before", metavar="BEFORE", help="the baseline photo")
    compare.add_argument("after", metavar="AFTER", help="the later photo")
    compare.add_argument("--json", action="store_true", help="print JSON instead of text")
    compare.add_argument("--heatmap", metavar="OUT.png",
                         help="write the aligned pair side by side with the change drawn over it")
    compare.add_argument("--mask", metavar="MASK.png", help=_MASK_HELP.format(photo="the baseline"))
    compare.set_defaults(run=_compare)

    again = commands.add_parser(
        "reanalyze", help="analyse every stored photo that has no analysis at this algorithm version",
        description="Analyse the records' photos (ANALYZER_DATA_DIR, ANALYZER_DATABASE_URL) against their "
                    "baselines, in parallel; cached analyses are kept unless --all.")
    again.add_argument("--workers", type=int, metavar="N", help="processes (default: one per core)")
    again.add_argument("--all", action="store_true", help="recompute cached analyses too")
    again.add_argument("--json", action="store_true", help="print JSON instead of text")
    again.set_defaults(run=_reanalyze)

    demo = commands.add_parser(
        "demo", help="add the demo patient (sample_images/) to the records and measure the photos",
        description="Add the demo patient to the records (ANALYZER_DATA_DIR, ANALYZER_DATABASE_URL) once, "
                    "then analyse whatever is not yet analysed. Run by `make run`.")
    demo.add_argument("--folder", default=None, help="the demo's folder (default: sample_images/)")
    demo.add_argument("--json", action="store_true", help="print JSON instead of text")
    demo.set_defaults(run=_demo)

    invite = commands.add_parser(
        "invite", help="print a one-time code that creates a clinic's admin account",
        description="For the server's operator: a new clinic's first admin, or a way back in when the "
                    "admin's password is lost. Prints a one-time invite code (valid ANALYZER_INVITE_DAYS "
                    "days) to enter on the dashboard's sign-in page under 'I have an invite code'.")
    invite.add_argument("--clinic", metavar="NAME",
                        help="the clinic (created if no clinic has this name; default: the only clinic)")
    invite.add_argument("--role", choices=("admin", "practitioner"), default="admin")
    invite.add_argument("--json", action="store_true", help="print JSON instead of text")
    invite.set_defaults(run=_invite)
    return parser


_MASK_HELP = ("measure only this area: an image {photo}'s size, white (or opaque) where to measure; "
              "default: the detected skin, with face zones")


def _mask(path: str | None, photo):
    """The drawn mask over `photo` (a LoadedPhoto), or None."""
    if path is None:
        return None
    try:
        return load_mask(path, photo.image.shape[:2])
    except InvalidImage as err:
        raise InvalidImage(f"{path}: {err}") from None


def _load(path: str):
    try:
        return load_photo(path)
    except InvalidImage as err:
        raise InvalidImage(f"{path}: {err}") from None


def _analyze(args: argparse.Namespace) -> dict:
    if args.px_per_mm is not None and not (args.px_per_mm > 0 and math.isfinite(args.px_per_mm)):
        raise CommandError(f"--px-per-mm must be a positive number, not {args.px_per_mm}")
    photo = _load(args.photo)
    metrics = analyze(photo.image, _mask(args.mask, photo), px_per_mm=args.px_per_mm)
    return {
        "analyzer_version": __version__,
        "photo": {"path": args.photo, **photo.to_dict()},
        **({"mask": args.mask} if args.mask else {}),
        "quality": assess(photo.image).to_dict(),
        "metrics": _rounded(metrics.to_dict()),
        "measured": metrics.context(),
    }


def _compare(args: argparse.Namespace) -> dict:
    before, after = _load(args.before), _load(args.after)
    comparison = compare(before.image, after.image, mask=_mask(args.mask, before))
    alignment = comparison.alignment
    result = {
        "analyzer_version": __version__,
        "before": {"path": args.before, **before.to_dict()},
        "after": {"path": args.after, **after.to_dict()},
        **({"mask": args.mask} if args.mask else {}),
        "quality": assess(after.image, before.image).to_dict(),
        "alignment": alignment.to_dict(),
        "tone": comparison.tone.to_dict(),
        **({"light_note": " ".join(comparison.notes)} if comparison.notes else {}),
        "metrics": _metric_table(comparison),
    }
    if args.heatmap:
        if not alignment.ok:
            raise CommandError(f"no heatmap: {alignment.reason}")
        png = to_png_bytes(change_heatmap(before.image, alignment))  # drawn before the file is opened
        with open(args.heatmap, "wb") as out:
            out.write(png)
        result["heatmap"] = args.heatmap
    return result


def _rounded(values: dict[str, float]) -> dict[str, float | None]:
    return {k: (round(v, 4) if v == v else None) for k, v in values.items()}  # NaN -> null


def _metric_table(comparison) -> dict:
    """Per metric: before, after, change, the noise limit it was judged by (null: not judged) and
    whether it exceeds it."""
    if comparison.after is None:
        return {"not_compared": f"the photos do not align: {comparison.alignment.reason}"}
    before, after = _rounded(comparison.before.to_dict()), _rounded(comparison.after.to_dict())
    delta = _rounded(dict(comparison.delta))
    limit = {k: None if math.isinf(v) else v for k, v in _rounded(dict(comparison.limits)).items()}
    return {key: {"before": before[key], "after": after[key], "change": delta[key], "limit": limit[key],
                  "significant": comparison.significant[key]} for key in before}


@contextlib.contextmanager
def _records():
    """The records from the settings (the database stack is imported only when asked for)."""
    from sqlalchemy.exc import SQLAlchemyError

    from analyzer.records import RecordError, Records, SettingsError

    try:
        records = Records.open()
    except SQLAlchemyError as err:
        raise CommandError(f"cannot open the records database: {getattr(err, 'orig', None) or err}") from None
    except SettingsError as err:
        raise CommandError(f"settings: {err}") from None
    try:
        yield records
    except RecordError as err:
        raise CommandError(str(err)) from None
    finally:
        records.close()


def _reanalyze(args: argparse.Namespace) -> dict:
    from analyzer.records import reanalyze

    if args.workers is not None and args.workers < 1:
        raise CommandError(f"--workers must be at least 1, not {args.workers}")
    with _records() as records:
        summary = reanalyze(records, workers=args.workers, everything=args.all, progress=not args.json)
    result = summary.to_dict()
    if summary.failures:
        args.exit_status = 1
    return result


def _demo(args: argparse.Namespace) -> dict:
    from pathlib import Path

    from analyzer.records import reanalyze
    from analyzer.records.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, import_demo

    folder = Path(args.folder) if args.folder else Path(__file__).resolve().parents[1] / "sample_images"
    if not (folder / "manifest.json").is_file():
        raise CommandError(f"no demo in {folder}: build it with `python sample_images/make_demo.py`")
    with _records() as records:
        patient = import_demo(records, folder)
        summary = reanalyze(records, progress=not args.json)
    return {"patient_id": patient.id, "name": patient.name, **summary.to_dict(),
            "sign_in": f"{' or '.join(DEMO_ACCOUNTS)}, password {DEMO_PASSWORD} (demo clinic only)"}


def _invite(args: argparse.Namespace) -> dict:
    from analyzer.records import Actor

    system = Actor.system("invite")
    with _records() as records:
        if args.clinic:
            clinic_id = records.find_clinic(system, args.clinic) or records.create_clinic(system, args.clinic)
        else:
            clinics = records.clinics(system)
            real = [c for c in clinics if not c[2]]
            if len(real) != 1:
                names = ", ".join(repr(c[1]) for c in real) or "none yet"
                raise CommandError(f"name the clinic with --clinic NAME (clinics: {names})")
            clinic_id = real[0][0]
        invitation = records.invite(system, role=args.role, clinic_id=clinic_id)
    return {"code": invitation.code, "role": args.role, "clinic_id": clinic_id,
            "expires_at": invitation.invite.expires_at.isoformat(timespec="minutes") + " UTC"}


class CommandError(Exception):
    """A reason the command could not do what was asked (exit status 2)."""


def _print_text(result: dict, indent: str = "") -> None:
    for key, value in result.items():
        if key == "metrics" and isinstance(value, dict) and "not_compared" not in value:
            print(f"{indent}metrics:")
            for line in _metric_lines(value):
                print(f"{indent}  {line}")
        elif isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_text(value, indent + "  ")
        else:
            print(f"{indent}{key}: {value}")


def _metric_lines(metrics: dict) -> list[str]:
    """One aligned line per metric: name, value (or before -> after, change, '*' when significant)."""
    lines = []
    for key, value in metrics.items():
        meta = info(key)
        name = f"{key.split('.')[1]} {meta.label}" if key.startswith("zone.") else meta.label
        fmt = f".{meta.decimals}f"
        if isinstance(value, dict):
            if value["change"] is None:
                continue
            mark = " *" if value["significant"] else ""
            limit = ("not judged" if value["limit"] is None
                     else f"noise ±{value['limit']:.{meta.decimals + 1}f}")
            text = (f"{value['before']:{fmt}} -> {value['after']:{fmt}}  ({value['change']:+{fmt}}, {limit})"
                    f" {meta.unit}{mark}")
        else:
            if value is None:
                continue
            text = f"{value:{fmt}} {meta.unit}"
        lines.append(f"{name:<40} {text}")
    if any(isinstance(v, dict) and v["significant"] for v in metrics.values()):
        lines.append("* beyond its noise limit: the change repeat photos of unchanged skin show (minimal "
                     "detectable change), wider when the light or compression differed more")
    return lines
