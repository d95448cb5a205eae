"""The command line: ``python -m analyzer`` (also installed as ``skin-analyzer``).

It mirrors the public API so a clinic can script the analyzer without Python:

    python -m analyzer analyze PHOTO [--json]
    python -m analyzer compare BEFORE AFTER [--json]

Exit status: 0 on success, 2 with a one-line reason on stderr when an input is
not a usable photo (or the arguments are wrong).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from analyzer import __version__
from analyzer.images import InvalidImage, load_photo

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result = args.run(args)
    except InvalidImage as err:
        print(f"skin-analyzer: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(result, sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write("\n")
    else:
        _print_text(result)
    return 0


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
    analyze.set_defaults(run=_analyze)

    compare = commands.add_parser("compare", help="read a before and an after photo")
    compare.add_argument("before", metavar="BEFORE", help="the baseline photo")
    compare.add_argument("after", metavar="AFTER", help="the later photo")
    compare.add_argument("--json", action="store_true", help="print JSON instead of text")
    compare.set_defaults(run=_compare)
    return parser


def _photo_report(path: str) -> dict:
    try:
        photo = load_photo(path)
    except InvalidImage as err:
        raise InvalidImage(f"{path}: {err}") from None
    return {"path": path, **photo.to_dict()}


def _analyze(args: argparse.Namespace) -> dict:
    return {"analyzer_version": __version__, "photo": _photo_report(args.photo)}


def _compare(args: argparse.Namespace) -> dict:
    return {
        "analyzer_version": __version__,
        "before": _photo_report(args.before),
        "after": _photo_report(args.after),
    }


def _print_text(result: dict, indent: str = "") -> None:
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_text(value, indent + "  ")
        else:
            print(f"{indent}{key}: {value}")
