"""The command line (analyzer.cli): output and exit status.

Most tests call ``main`` in-process (fast); a few run ``python -m analyzer`` in a
subprocess to check what a clinic's script really sees: exit status, stdout, stderr.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from analyzer import __version__
from analyzer.cli import main

_REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def text_file(tmp_path) -> Path:
    path = tmp_path / "notes.jpg"  # the name does not make it a photo
    path.write_text("Patient 0042: redness down after session 3.\n")
    return path


@pytest.fixture
def turned_photo(tmp_path, astronaut) -> Path:
    """A 300 x 512 JPEG stored sideways with EXIF orientation 6 and a capture time."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"
    path = tmp_path / "session-2-front.jpg"
    Image.fromarray(np.ascontiguousarray(astronaut[:300])).save(path, "JPEG", quality=90, exif=exif)
    return path


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analyzer", *args],
        capture_output=True, text=True, cwd=_REPO, timeout=60, check=False,
    )


def _one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("skin-analyzer: error: ")
    return lines[0]


# --- in-process ----------------------------------------------------------------------


def test_analyze_json(capsys, photo_file):
    assert main(["analyze", str(photo_file), "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert err == ""
    assert result["analyzer_version"] == __version__
    photo = result["photo"]
    assert photo["path"] == str(photo_file)
    assert (photo["width"], photo["height"], photo["format"]) == (512, 512, "JPEG")
    assert (photo["bit_depth"], photo["orientation_applied"], photo["captured_at"]) == (8, 1, None)


def test_analyze_reports_orientation_and_capture_time(capsys, turned_photo):
    assert main(["analyze", str(turned_photo), "--json"]) == 0
    photo = json.loads(capsys.readouterr().out)["photo"]
    assert (photo["width"], photo["height"]) == (300, 512)  # upright
    assert photo["orientation_applied"] == 6
    assert photo["captured_at"] == "2024-05-06T07:08:09"


def test_analyze_text_output(capsys, photo_file):
    assert main(["analyze", str(photo_file)]) == 0
    out = capsys.readouterr().out
    assert "photo:" in out
    assert "  width: 512" in out and "  format: JPEG" in out


@pytest.mark.parametrize(
    ("make_path", "words"),
    [
        (lambda tmp, text: text, ["not a photo", "text file"]),
        (lambda tmp, text: tmp / "missing.jpg", ["does not exist"]),
        (lambda tmp, text: tmp, ["folder"]),
    ],
    ids=["text-file", "missing", "folder"],
)
def test_analyze_unusable_input_exits_2(capsys, tmp_path, text_file, make_path, words):
    path = make_path(tmp_path, text_file)
    assert main(["analyze", str(path), "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    line = _one_error_line(err)
    assert str(path) in line
    for word in words:
        assert word in line


def test_compare_json(capsys, photo_file, turned_photo):
    assert main(["compare", str(photo_file), str(turned_photo), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["before"]["path"] == str(photo_file)
    assert (result["after"]["width"], result["after"]["height"]) == (300, 512)


def test_compare_names_the_bad_photo(capsys, photo_file, text_file):
    assert main(["compare", str(photo_file), str(text_file)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(text_file) in line and str(photo_file) not in line


@pytest.mark.parametrize(
    "argv",
    [[], ["frobnicate", "x.jpg"], ["analyze"], ["compare", "only-one.jpg"], ["analyze", "x.jpg", "--bogus"]],
    ids=["nothing", "bad-command", "no-photo", "one-photo", "bad-option"],
)
def test_usage_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_16bit_png_via_cli(capsys, tmp_path, astronaut):
    path = tmp_path / "scan.png"
    buf = io.BytesIO()
    Image.fromarray(astronaut[..., 0].astype(np.uint16) * 257).save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    # a greyscale scan decodes, and is then refused for having no colour (its redness would read 0)
    assert main(["analyze", str(path), "--json"]) == 2
    assert "has no colour" in capsys.readouterr().err


# --- as a process ----------------------------------------------------------------------


def test_process_analyze_json(photo_file):
    proc = _run("analyze", str(photo_file), "--json")
    assert proc.returncode == 0, proc.stderr
    photo = json.loads(proc.stdout)["photo"]
    assert (photo["width"], photo["height"], photo["format"]) == (512, 512, "JPEG")


def test_process_analyze_text_file_exits_2(text_file):
    proc = _run("analyze", str(text_file), "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    line = _one_error_line(proc.stderr)
    assert str(text_file) in line and "not a photo" in line


def test_process_missing_file_exits_2(tmp_path):
    proc = _run("analyze", str(tmp_path / "missing.jpg"))
    assert proc.returncode == 2
    assert "does not exist" in _one_error_line(proc.stderr)


def test_process_compare_json(photo_file, turned_photo):
    proc = _run("compare", str(photo_file), str(turned_photo), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["before"]["format"] == result["after"]["format"] == "JPEG"


def test_process_bad_command_exits_2():
    proc = _run("frobnicate")
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


DEMO = Path(__file__).resolve().parents[1] / "sample_images"


def test_compare_aligns_and_writes_a_heatmap(capsys, tmp_path):
    out = tmp_path / "change.png"
    argv = ["compare", str(DEMO / "session1_left-cheek.jpg"), str(DEMO / "session3_left-cheek.jpg"),
            "--json", "--heatmap", str(out)]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["alignment"]["ok"] is True and result["alignment"]["score"] > 0.9
    assert result["heatmap"] == str(out)
    heatmap = np.asarray(Image.open(out))
    assert heatmap.ndim == 3 and heatmap.shape[1] > heatmap.shape[0]  # the pair side by side


def test_compare_refuses_a_heatmap_of_unrelated_photos(capsys, tmp_path, photo_file):
    out = tmp_path / "change.png"
    argv = ["compare", str(DEMO / "session1_left-cheek.jpg"), str(photo_file), "--heatmap", str(out)]
    assert main(argv) == 2
    assert "no heatmap" in _one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_analyze_reports_capture_quality_with_advice(capsys, tmp_path):
    import cv2

    photo = cv2.imread(str(DEMO / "session1_front.jpg"))
    blurred = tmp_path / "shaky.png"
    cv2.imwrite(str(blurred), cv2.GaussianBlur(photo, (0, 0), 6.0))
    assert main(["analyze", str(blurred), "--json"]) == 0
    quality = json.loads(capsys.readouterr().out)["quality"]
    assert quality["ok"] is False
    assert [i["code"] for i in quality["issues"]] == ["blurred"]
    assert "steadier" in quality["issues"][0]["message"]


def test_analyze_reports_every_metric_and_how_it_was_measured(capsys):
    assert main(["analyze", str(DEMO / "session1_front.jpg"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    from analyzer.metrics import METRICS

    assert {m.key for m in METRICS} <= set(result["metrics"])
    assert "zone.left_cheek.redness.erythema_index" in result["metrics"]
    measured = result["measured"]
    assert measured["scale_source"] == "face" and measured["illuminant"]["source"] == "reference"
    assert measured["algorithm_version"] and measured["spots"]


def test_analyze_takes_a_known_scale_and_refuses_a_wrong_one(capsys):
    photo = str(DEMO / "session1_left-cheek.jpg")
    assert main(["analyze", photo, "--json", "--px-per-mm", "12.5"]) == 0
    assert json.loads(capsys.readouterr().out)["measured"]["px_per_mm"] == 12.5
    assert main(["analyze", photo, "--px-per-mm", "-1"]) == 2
    assert "--px-per-mm must be a positive number" in _one_error_line(capsys.readouterr().err)
    assert main(["analyze", photo, "--px-per-mm", "inf"]) == 2
    assert "--px-per-mm must be a positive number" in _one_error_line(capsys.readouterr().err)


def test_compare_reports_each_change_and_whether_it_is_beyond_noise(capsys):
    argv = ["compare", str(DEMO / "session2_front.jpg"), str(DEMO / "session2_day1_front.jpg")]
    assert main([*argv, "--json"]) == 0
    redness = json.loads(capsys.readouterr().out)["metrics"]["redness.erythema_index"]
    assert redness["change"] == pytest.approx(redness["after"] - redness["before"], abs=1e-3)
    assert redness["change"] > 3 and redness["significant"] is True  # the day after a session
    assert 0 < redness["limit"] < redness["change"]  # the noise limit it was judged against
    assert main(argv) == 0
    text = capsys.readouterr().out
    line = next(row for row in text.splitlines() if row.strip().startswith("Erythema index"))
    assert "->" in line and line.rstrip().endswith("*")
    assert f"noise ±{redness['limit']:.2f})" in line  # the limit it was judged against, as in the JSON
    assert "minimal detectable change" in text


def test_a_photo_without_skin_exits_2(capsys, tmp_path):
    wall = tmp_path / "wall.png"
    Image.fromarray(np.full((600, 800, 3), (60, 90, 200), np.uint8)).save(wall)
    assert main(["analyze", str(wall)]) == 2
    assert "too little skin" in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("command", [["reanalyze"], ["demo"]])
def test_records_commands_explain_an_unreachable_database(command, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANALYZER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ANALYZER_DATABASE_URL", f"postgresql+psycopg://nobody@/x?host={tmp_path}/nowhere")
    assert main(command) == 2
    assert "cannot open the records database" in capsys.readouterr().err


def test_demo_with_a_damaged_photo_says_which_and_saves_nothing(tmp_path, monkeypatch, capsys):
    demo = Path(__file__).resolve().parents[1] / "sample_images"
    folder = tmp_path / "demo"
    folder.mkdir()
    for f in demo.iterdir():
        if f.suffix in (".json", ".jpg"):
            (folder / f.name).write_bytes(f.read_bytes())
    (folder / "session3_front.jpg").write_bytes(b"not a photo")
    monkeypatch.setenv("ANALYZER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ANALYZER_DATABASE_URL", raising=False)
    assert main(["demo", "--folder", str(folder)]) == 2
    assert "session3_front.jpg" in capsys.readouterr().err
    from analyzer.records import Actor, Records

    records = Records.open()
    assert records.find_patients(Actor.system("tests")) == []  # checked before anything was added
    assert list(records.store.keys()) == []
    records.close()


def test_invite_prints_an_admin_code_for_a_new_clinic_or_the_only_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANALYZER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ANALYZER_DATABASE_URL", raising=False)
    assert main(["invite"]) == 2  # nothing to invite to yet
    assert "name the clinic with --clinic NAME (clinics: none yet)" in capsys.readouterr().err
    assert main(["invite", "--clinic", "Rose Clinic", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert main(["invite", "--json"]) == 0  # the only clinic now: a second code (e.g. a lost password)
    again = json.loads(capsys.readouterr().out)
    assert made["clinic_id"] == again["clinic_id"] and made["code"] != again["code"]
    from analyzer.records import Records

    records = Records.open()
    admin = records.redeem_invite(made["code"], username="rose", password="rose's password")
    assert (admin.role, records.clinic(admin)) == ("admin", ("Rose Clinic", False))
    records.close()


def test_unusable_settings_are_explained(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANALYZER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ANALYZER_IDLE_MINUTES", "forever")
    assert main(["reanalyze"]) == 2
    assert "settings: idle_minutes must be a number" in capsys.readouterr().err


def test_compare_says_when_the_light_differs_beyond_the_repeat_photos(capsys):
    # the demo's session 5 front view was taken with a bluer white balance (+6.1 %) than the
    # repeat photos the noise limits were measured on (-7.2 to +5.6 %)
    argv = ["compare", str(DEMO / "session1_front.jpg"), str(DEMO / "session5_front.jpg")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    (note,) = [line for line in out.splitlines() if line.startswith("light_note: ")]
    assert "blue balance +" in note and "judged against wider limits" in note


def _mask_file(tmp_path, photo: Path, box: tuple[int, int, int, int]) -> Path:
    """A white-on-black PNG the size of `photo`, white inside box (x0, y0, x1, y1)."""
    with Image.open(photo) as im:
        width, height = im.size
    mask = np.zeros((height, width), np.uint8)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = 255
    path = tmp_path / "area.png"
    Image.fromarray(mask).save(path)
    return path


def test_analyze_and_compare_measure_a_drawn_area(capsys, tmp_path):
    before, after = DEMO / "session1_left-cheek.jpg", DEMO / "session3_left-cheek.jpg"
    area = _mask_file(tmp_path, before, (300, 400, 700, 800))  # 400 x 400 px, 36 x 36 mm at 11 px/mm
    assert main(["analyze", str(before), "--json", "--mask", str(area)]) == 0
    analysed = json.loads(capsys.readouterr().out)
    assert analysed["mask"] == str(area)
    drawn_mm2 = 400 * 400 / analysed["measured"]["px_per_mm"] ** 2
    assert 0.9 * drawn_mm2 < analysed["measured"]["area_mm2"] <= drawn_mm2  # less any glare
    assert main(["compare", str(before), str(after), "--json", "--mask", str(area)]) == 0
    compared = json.loads(capsys.readouterr().out)
    assert compared["mask"] == str(area) and compared["alignment"]["ok"]
    key = "redness.erythema_index"
    assert compared["metrics"][key]["before"] == pytest.approx(analysed["metrics"][key], abs=0.05)


def test_a_drawn_area_that_does_not_fit_the_photo_exits_2_and_says_why(capsys, tmp_path):
    photo = DEMO / "session1_left-cheek.jpg"
    small = tmp_path / "small.png"
    Image.fromarray(np.full((100, 100), 255, np.uint8)).save(small)
    assert main(["compare", str(photo), str(photo), "--mask", str(small)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(small) in line and "the mask is 100 × 100 pixels but the photo is" in line
    empty = _mask_file(tmp_path, photo, (0, 0, 0, 0))
    assert main(["analyze", str(photo), "--mask", str(empty)]) == 2
    assert "marks no pixel" in _one_error_line(capsys.readouterr().err)
    tiny = _mask_file(tmp_path, photo, (500, 500, 520, 520))  # 2 x 2 mm
    assert main(["analyze", str(photo), "--mask", str(tiny)]) == 2
    assert "too little skin to measure" in _one_error_line(capsys.readouterr().err)
