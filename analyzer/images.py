"""Photo intake: the one gate through which bytes become pixels.

Every photo the analyzer sees passes through :func:`load_image` (or
:func:`load_photo`, which also reports what it found on the way). It accepts
what a clinic's cameras and phones produce -- JPEG, PNG (8 and 16 bit, palette,
alpha), TIFF, WebP, HEIC/HEIF, grayscale and CMYK -- and returns one format the
rest of the pipeline can trust: an upright ``(H, W, 3) uint8`` RGB array.

Anything else is refused with :class:`InvalidImage`, whose message a
practitioner can act on. Limits are checked *before* decoding, from the file's
header, so a decompression bomb costs nothing.

:func:`to_png_bytes` and :func:`to_jpeg_bytes` give the clean bytes we store:
pixels re-encoded from the array, so no EXIF, GPS, maker note or thumbnail of
the original survives.
"""

from __future__ import annotations

import datetime as _dt
import functools
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
import pillow_heif
import simplejpeg
from PIL import Image, ImageCms, UnidentifiedImageError

__all__ = [
    "ImageSource",
    "InvalidImage",
    "LoadedPhoto",
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "check_rgb8",
    "load_image",
    "load_mask",
    "load_photo",
    "to_jpeg_bytes",
    "to_png_bytes",
]

pillow_heif.register_heif_opener()
Image.init()  # register every Pillow plugin now, so `formats=` below can name them

#: A path, raw bytes, or an open binary file (a Streamlit upload is one).
ImageSource = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO

#: Largest file accepted, in bytes (100 MB: a 60-megapixel JPEG is ~30 MB).
MAX_FILE_BYTES = 100 * 1024 * 1024
#: Largest photo accepted, in pixels (60 megapixels; phones take 12 to 50).
MAX_PIXELS = 60_000_000
#: Shortest side accepted, in pixels: below this there is too little skin to measure.
MIN_SIDE = 256

_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "HEIF", "AVIF")  # JPEG covers MPO: its opener returns either
_SUPPORTED = "JPEG, PNG, HEIC, TIFF or WebP"

_TAG_ORIENTATION = 0x0112
_TAG_DATETIME = 0x0132
_IFD_EXIF = 0x8769
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_OFFSET_TIME_ORIGINAL = 0x9011


class InvalidImage(ValueError):
    """The input is not a photo the analyzer can use; ``str(err)`` says why in plain words."""


@dataclass(frozen=True)
class LoadedPhoto:
    """A decoded photo and what intake learned about it.

    Attributes
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB pixels, upright (EXIF orientation applied), alpha composited on white.
    format : str
        Container the bytes were in: ``"JPEG"``, ``"PNG"``, ``"TIFF"``, ``"WEBP"``,
        ``"HEIF"``, ``"AVIF"`` or ``"MPO"`` (a phone's multi-picture JPEG).
    bit_depth : int
        Bits per channel in the file (8 or 16); 16-bit is rounded to 8.
    orientation : int
        The EXIF orientation (1 to 8) that was applied; 1 means none.
    captured_at : datetime.datetime or None
        When the photo was taken, from EXIF ``DateTimeOriginal`` (timezone-aware
        when the camera recorded its offset), read before metadata is dropped.
    color_profile : str or None
        The embedded ICC profile's name (e.g. ``"Display P3"``); pixels were
        converted from it to sRGB. None when the file had none (sRGB assumed).
    """

    image: np.ndarray
    format: str
    bit_depth: int
    orientation: int
    captured_at: _dt.datetime | None
    color_profile: str | None = None

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    def to_dict(self) -> dict:
        """JSON-ready summary (no pixels)."""
        return {
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "megapixels": round(self.width * self.height / 1e6, 2),
            "bit_depth": self.bit_depth,
            "orientation_applied": self.orientation,
            "captured_at": self.captured_at.isoformat() if self.captured_at else None,
            "color_profile": self.color_profile,
        }


def load_image(source: ImageSource) -> np.ndarray:
    """Decode a photo into an upright RGB array.

    Parameters
    ----------
    source : str, os.PathLike, bytes, bytearray, memoryview or binary file
        The photo: a path, its bytes, or an open file such as a Streamlit upload.

    Returns
    -------
    image : (H, W, 3) uint8 ndarray
        sRGB, EXIF orientation applied, alpha composited on white, 16-bit scaled
        to 8-bit by rounding ``v / 257``. A photo with an embedded colour profile
        (an iPhone's Display P3, Adobe RGB, a CMYK press profile) is converted
        to sRGB, so the same skin gives the same numbers from either phone.

    Raises
    ------
    InvalidImage
        With a reason a practitioner can act on: not a photo, truncated or
        damaged, too large (file over 100 MB or over 60 megapixels, checked
        before decoding), too small (shorter side under 256 px), missing file.
        No other exception escapes.
    """
    return load_photo(source).image


def load_photo(source: ImageSource) -> LoadedPhoto:
    """Like :func:`load_image`, but also report format, bit depth, orientation and capture time."""
    data = _read_bytes(source)
    try:
        with warnings.catch_warnings():
            # Decoders warn about damaged metadata (e.g. "Corrupt EXIF data") in
            # photos that decode fine: that is no reason to refuse or to log.
            warnings.simplefilter("ignore")
            return _decode(data)
    except InvalidImage:
        raise
    except MemoryError as err:
        raise InvalidImage("the photo is too large to decode with the memory available") from err
    except Exception as err:  # noqa: BLE001 -- the gate: decoder libraries raise anything
        raise InvalidImage(_damage_reason(data)) from err


def to_png_bytes(image: np.ndarray, *, compression: int = 3) -> bytes:
    """Encode an RGB uint8 array as lossless PNG with no metadata.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB pixels, e.g. from :func:`load_image`.
    compression : int, 0..9
        zlib level; 3 is about as small as 9 on photos and several times faster.
    """
    check_rgb8(image)
    ok, buf = cv2.imencode(".png", image[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:  # pragma: no cover -- OpenCV refuses only invalid arrays, checked above
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def to_jpeg_bytes(image: np.ndarray, *, quality: int = 92) -> bytes:
    """Encode an RGB uint8 array as baseline JPEG (4:4:4 chroma) with no metadata.

    For previews and reports; store originals with :func:`to_png_bytes`.
    """
    check_rgb8(image)
    params = [
        cv2.IMWRITE_JPEG_QUALITY, int(quality),
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
    ]
    ok, buf = cv2.imencode(".jpg", image[..., ::-1], params)
    if not ok:  # pragma: no cover
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


# --- reading ---------------------------------------------------------------


def load_mask(source: ImageSource, shape: tuple[int, int]) -> np.ndarray:
    """Decode a drawn mask: the area of a photo of `shape` (H, W) to measure.

    Parameters
    ----------
    source : str, os.PathLike, bytes, bytearray, memoryview or binary file
        A PNG, TIFF, WebP or JPEG the photo's size, EXIF orientation applied
        as the photo's is. Where some pixels are transparent, the opaque ones
        (alpha over half) mark the area; otherwise (no alpha, or every pixel
        opaque) the light ones, over half of the grey scale at any bit depth:
        white on black.
    shape : (int, int)
        The upright photo's (height, width) in pixels.

    Returns
    -------
    mask : (H, W) bool ndarray

    Raises
    ------
    InvalidImage
        Not an image, damaged, too large, another size than the photo, or
        marking no pixel.
    """
    data = _read_bytes(source, "mask")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(data), formats=("PNG", "TIFF", "WEBP", "JPEG"))
            if im.size[0] * im.size[1] > MAX_PIXELS:
                raise InvalidImage(f"the mask is too large: {im.size[0] * im.size[1] / 1e6:.0f} megapixels")
            orientation = _orientation(im.getexif())
            marks = _marks(im)
    except InvalidImage:
        raise
    except (Image.DecompressionBombError, MemoryError) as err:
        raise InvalidImage("the mask is too large to decode") from err
    except Exception as err:  # noqa: BLE001 -- decoder libraries raise anything
        raise InvalidImage("the mask is not a PNG, TIFF, WebP or JPEG image, or it is damaged") from err
    marks = _apply_orientation(marks.astype(np.uint8), orientation).astype(bool)
    if marks.shape != tuple(shape):
        raise InvalidImage(f"the mask is {marks.shape[1]} × {marks.shape[0]} pixels but the photo is "
                           f"{shape[1]} × {shape[0]}: draw it over the photo itself")
    if not marks.any():
        raise InvalidImage("the mask marks no pixel: white (or opaque) marks the area to measure")
    return marks


def _marks(im: Image.Image) -> np.ndarray:
    """The pixels a mask marks: opaque ones where some are transparent, else light ones (over half)."""
    if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
        alpha = np.asarray(im.convert("RGBA").getchannel("A")) > 127
        if not alpha.all():  # a paint program's canvas may be all opaque: then its colours tell
            return alpha
    if im.mode.startswith("I"):  # 16-bit grey (I;16, or I): convert("L") would clip, not scale
        return np.asarray(im) > 32767
    if im.mode == "F":
        return np.asarray(im) > 0.5
    return np.asarray(im.convert("L")) > 127


def _read_bytes(source: ImageSource, what: str = "photo") -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        data = _read_path(Path(source), what)
    elif hasattr(source, "getvalue") or hasattr(source, "read"):
        try:
            if hasattr(source, "getvalue"):  # BytesIO, Streamlit's UploadedFile
                data = source.getvalue()
            else:
                data = source.read(MAX_FILE_BYTES + 1)
        except (OSError, ValueError) as err:  # e.g. a closed file
            raise InvalidImage(f"cannot read the file: {err}") from None
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidImage("the file was opened as text; open it in binary mode ('rb')")
        data = bytes(data)
    else:
        raise InvalidImage(
            f"cannot read a {what} from a {type(source).__name__}; "
            "give a file path, the file's bytes, or an open file"
        )
    if not data:
        raise InvalidImage(f"the file is empty; upload the {what} again")
    if len(data) > MAX_FILE_BYTES:
        raise InvalidImage(
            f"the file is too large: over {MAX_FILE_BYTES // 2**20} MB, "
            f"limit {MAX_FILE_BYTES // 2**20} MB"
        )
    return data


def _read_path(path: Path, what: str) -> bytes:
    try:
        if path.is_dir():
            raise InvalidImage(f"'{path}' is a folder, not a {what}")
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidImage(f"no {what} at '{path}': the file does not exist") from None
    except OSError as err:
        raise InvalidImage(f"cannot open '{path}': {err.strerror or err}") from None
    except ValueError as err:  # e.g. an embedded NUL byte
        raise InvalidImage(f"cannot open '{path}': {err}") from None
    if size > MAX_FILE_BYTES:
        raise InvalidImage(
            f"the file is too large: {size / 2**20:.0f} MB, limit {MAX_FILE_BYTES // 2**20} MB"
        )
    try:
        return path.read_bytes()
    except OSError as err:
        raise InvalidImage(f"cannot read '{path}': {err.strerror or err}") from None


_TRUNCATED = "the photo is truncated (the file ends early); upload it again"
_DAMAGED = "the photo is damaged and cannot be decoded; upload it again"


def _looks_truncated(data: bytes) -> bool:
    """A JPEG without its end marker, or a PNG without its closing IEND chunk."""
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg_scan_end(data) is False
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return b"IEND" not in data[-64:]
    return False


def _damage_reason(data: bytes) -> str:
    return _TRUNCATED if _looks_truncated(data) else _DAMAGED


def _not_a_photo_reason(data: bytes) -> str:
    head = data[:512].lstrip()
    lower = head.lower()
    if head.startswith(b"%PDF"):
        return "the file is not a photo: it is a PDF document"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "the file is not a photo: it is a ZIP archive (unzip it and upload the photos)"
    if b"<svg" in lower:
        return "the file is not a photo: it is an SVG drawing"
    if lower.startswith((b"<!doctype html", b"<html")) or b"<html" in lower:
        return "the file is not a photo: it is a web page (save the image itself, not the page)"
    if head.startswith(b"GIF8"):
        return "GIF files are not supported; upload the original JPEG, PNG or HEIC photo"
    try:
        data[:4096].decode("utf-8")
        return "the file is not a photo: it is a text file"
    except UnicodeDecodeError:
        pass
    return f"the file is not a photo in a supported format ({_SUPPORTED})"


# --- decoding --------------------------------------------------------------


def _decode(data: bytes) -> LoadedPhoto:
    try:
        im = Image.open(io.BytesIO(data), formats=_FORMATS)
    except Image.DecompressionBombError as err:
        raise InvalidImage(
            f"the photo is too large: over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels, "
            f"limit {MAX_PIXELS / 1e6:.0f}"
        ) from err
    except UnidentifiedImageError:
        if _looks_truncated(data):
            raise InvalidImage(_TRUNCATED) from None
        if data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):  # a photo, but broken
            raise InvalidImage(_DAMAGED) from None
        raise InvalidImage(_not_a_photo_reason(data)) from None

    width, height = im.size
    if width * height > MAX_PIXELS:
        raise InvalidImage(
            f"the photo is too large: {width * height / 1e6:.0f} megapixels, "
            f"limit {MAX_PIXELS / 1e6:.0f}"
        )
    if min(width, height) < MIN_SIDE:
        raise InvalidImage(
            f"the photo is too small to analyse: {width} × {height} pixels; "
            f"the shorter side must be at least {MIN_SIDE} pixels"
        )

    fmt = im.format
    exif = im.getexif()
    captured_at = _capture_time(exif)
    if fmt == "HEIF":
        # libheif applies the container's rotation and mirroring on decode and
        # pillow-heif resets the EXIF tag, so there is nothing left to apply.
        # (Pillow's own AVIF plugin instead reports irot/imir as the EXIF tag.)
        orientation = int(im.info.get("original_orientation") or 1)
        pending = 1
    else:
        orientation = pending = _orientation(exif)

    profile = _embedded_profile(im)
    if profile is not None and profile.space == "CMYK" and im.mode == "CMYK":
        im = ImageCms.applyTransform(im, _transform_to_srgb(profile.icc, "CMYK"))

    bit_depth = 8
    if fmt in ("JPEG", "MPO") and im.mode in ("RGB", "L"):
        rgb = _decode_jpeg_fast(data)
    elif _is_16bit(im, data):
        bit_depth = 16
        rgb = _decode_16bit(data)
    else:
        rgb = _to_rgb8(im)
    if fmt == "TIFF" and (bit_depth == 16 or _TAG_ORIENTATION not in im.tag_v2):
        # OpenCV's TIFF decoder applies the Orientation tag itself, and so does
        # Pillow's (which then drops the tag): applying it again would turn twice.
        pending = 1

    if rgb.shape[:2] != (height, width) and fmt not in ("HEIF", "AVIF"):
        raise InvalidImage(_DAMAGED)
    if fmt == "HEIF" and (_thumbnail_mismatch(data, rgb) or 0.0) > _THUMB_MISMATCH:
        raise InvalidImage(_DAMAGED)
    if profile is not None and profile.space == "RGB" and not profile.is_srgb:
        to_srgb = _transform_to_srgb(profile.icc, "RGB")
        rgb = np.asarray(ImageCms.applyTransform(Image.fromarray(rgb), to_srgb))
    rgb = _apply_orientation(rgb, pending)
    return LoadedPhoto(
        image=np.require(rgb, np.uint8, ["C_CONTIGUOUS", "WRITEABLE"]),  # Pillow arrays are read-only
        format=fmt,
        bit_depth=bit_depth,
        orientation=orientation if 1 <= orientation <= 8 else 1,
        captured_at=captured_at,
        color_profile=profile.name if profile is not None else None,
    )


@dataclass(frozen=True)
class _Profile:
    icc: bytes
    name: str
    space: str  # "RGB", "CMYK", "GRAY", ...

    @property
    def is_srgb(self) -> bool:
        return "srgb" in self.name.lower().replace(" ", "")


def _embedded_profile(im: Image.Image) -> _Profile | None:
    icc = im.info.get("icc_profile")
    if not icc:
        return None
    try:
        parsed = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        name = ImageCms.getProfileDescription(parsed).strip() or "unnamed profile"
        space = parsed.profile.xcolor_space.strip()
    except (OSError, ImageCms.PyCMSError, ValueError, TypeError):
        return None  # unreadable: treat the pixels as sRGB, as browsers do
    return _Profile(bytes(icc), name, space)


@functools.lru_cache(maxsize=16)
def _transform_to_srgb(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform:
    """A littleCMS transform from an embedded profile to sRGB (relative colorimetric: colours
    inside sRGB keep their measured values; only out-of-gamut ones are clipped)."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    return ImageCms.buildTransform(source, ImageCms.createProfile("sRGB"), mode, "RGB",
                                   renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)


def _decode_jpeg_fast(data: bytes) -> np.ndarray:
    """Decode with libjpeg-turbo (simplejpeg), after a completeness check; damaged data is refused.

    Strict: libjpeg's warnings ("Corrupt JPEG data: premature end of data
    segment", an unknown marker in the scan) are errors. Tolerated, libjpeg
    fills what it cannot read with grey and garbles the rest: a file with a
    few bad bytes mid-scan decoded to 38-44 % of its pixels wrong, and passed
    the quality check as a good photo. Same pixels as OpenCV's decoder, in
    half its time.
    """
    complete = _jpeg_scan_end(data)
    if not complete:
        raise InvalidImage(_TRUNCATED if complete is False else _DAMAGED)
    try:
        return simplejpeg.decode_jpeg(data, colorspace="RGB", strict=True)
    except ValueError as err:
        warning = str(err).lower()
        if any(words in warning for words in _JPEG_DAMAGE) and "bad icc marker" not in warning:
            raise InvalidImage(_DAMAGED) from None
    # a warning about how the file is written, not about its picture data: e.g. "Invalid SOS
    # parameters for sequential JPEG", which some Samsung phones' cameras write into good photos
    try:
        return simplejpeg.decode_jpeg(data, colorspace="RGB", strict=False)
    except ValueError:
        raise InvalidImage(_DAMAGED) from None


# libjpeg's warnings that the picture data itself is damaged (jerror.h), after which its decoder
# fills the rest grey or garbled: "Corrupt JPEG data: ..." (premature end of a segment, a bad
# Huffman code, N extraneous bytes before the end marker -- what is left of a garbled scan: 20-44 %
# of the pixels wrong in the tests), "Premature end of JPEG file", an unknown marker in the scan
_JPEG_DAMAGE = ("corrupt jpeg data", "premature end", "unsupported marker", "huffman", "arithmetic code")


def _jpeg_scan_end(data: bytes) -> bool | None:
    """True if an end-of-image marker follows the first scan, False if the data
    ends first, None if the markers before the scan are garbled.

    Entropy-coded data never contains 0xFFD9 (0xFF is stuffed as 0xFF00), so a
    file cut short lacks it; an EXIF thumbnail's marker comes before the scan,
    and a multi-picture file's later images come after the first one's.
    """
    pos = 2
    n = len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan
            return data.find(b"\xff\xd9", pos) != -1
        if 0xD0 <= marker <= 0xD8 or marker == 0x01:  # markers without a length
            pos += 2
            continue
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return False


def _is_16bit(im: Image.Image, data: bytes) -> bool:
    if im.format == "PNG":
        return len(data) > 24 and data[24] == 16  # IHDR bit depth
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, 8)
        bits = bits if isinstance(bits, (tuple, list)) else (bits,)
        return max(bits) == 16 and im.mode not in ("F", "I")
    return im.mode.startswith("I;16")


# HEVC has no checksum and libde265 conceals damaged data instead of failing, so a HEIC whose bytes
# are damaged in place decodes to a photo garbled from that point on (blocks of saturated noise),
# which would be measured as skin. Phones store a thumbnail in the file, a second picture of the
# photo coded apart from it: where the photo, scaled down, no longer matches its thumbnail, the
# file is damaged. The photo is scaled down by area (how a phone makes its thumbnail) and by
# nearest pixel (how libheif does: fine stripes alias), both are blurred by 1 thumbnail pixel, then
# compared in blocks of 8 thumbnail pixels a side (about 100 photo pixels of a 4032-pixel photo
# with a 320-pixel thumbnail): the largest block's mean difference, in 8-bit levels, was 0.4 to
# 7.7 on 66 undamaged encodings of 22 photos (quality 40 to 95; phones' own thumbnails, not
# available here, may differ more: hence a wide margin), above 45 on 96 % of 532 damaged files
# that decoded visibly garbled; those it passed differ from the undamaged decode by at most 75
# levels in a 64-pixel block (bench/heic_damage.py). A file without a thumbnail is not checked.
_THUMB_BLOCK = 8
_THUMB_BLUR = 1.0
_THUMB_MISMATCH = 45.0
_THUMB_MIN_SIDE = 64


def _thumbnail_mismatch(data: bytes, rgb: np.ndarray) -> float | None:
    """How far the decoded HEIC `rgb` ((H, W, 3) uint8) is from the file's own thumbnail: the
    largest block's mean difference in 8-bit levels (0..255), or None when there is nothing to
    compare (no thumbnail, one too small or of another shape)."""
    primary = pillow_heif.open_heif(data, convert_hdr_to_8bit=True)
    primary = primary[primary.primary_index]
    if not primary.info.get("thumbnails"):
        return None
    try:
        thumb = _to_rgb8(primary.get_thumbnail(0).to_pillow())  # composited on white, as the photo is
    except (OSError, ValueError, RuntimeError):  # a thumbnail that cannot be decoded checks nothing
        return None
    if min(thumb.shape[:2]) < _THUMB_MIN_SIDE or thumb.size >= rgb.size:
        return None
    worst = []
    for k in range(4):  # the thumbnail may be stored turned, apart from the photo's own rotation
        t = np.rot90(thumb, k)
        if abs(np.log((t.shape[0] / t.shape[1]) / (rgb.shape[0] / rgb.shape[1]))) > 0.03:
            continue  # another shape (turned, or framed otherwise): nothing to compare pixel by pixel
        t = cv2.GaussianBlur(np.float32(t), (0, 0), _THUMB_BLUR)
        for resampling in (cv2.INTER_AREA, cv2.INTER_NEAREST):  # a phone's thumbnail, or libheif's
            small = cv2.resize(rgb, (t.shape[1], t.shape[0]), interpolation=resampling)
            diff = np.abs(cv2.GaussianBlur(np.float32(small), (0, 0), _THUMB_BLUR) - t).mean(axis=2)
            b = _THUMB_BLOCK
            h, w = diff.shape[0] // b * b, diff.shape[1] // b * b
            worst.append(diff[:h, :w].reshape(h // b, b, w // b, b).mean(axis=(1, 3)).max())
    return float(min(worst)) if worst else None


def _decode_16bit(data: bytes) -> np.ndarray:
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16:
        raise InvalidImage(_DAMAGED)
    if arr.ndim == 2:
        arr = arr[..., None]
    channels = arr.shape[2]
    if channels == 1:
        rgb = np.repeat(arr, 3, axis=2)
        alpha = None
    elif channels == 2:
        rgb, alpha = np.repeat(arr[..., :1], 3, axis=2), arr[..., 1]
    elif channels == 3:
        rgb, alpha = arr[..., ::-1], None
    else:
        rgb, alpha = arr[..., 2::-1], arr[..., 3]
    if alpha is not None:
        rgb = _composite_on_white(rgb.astype(np.float32) / 65535.0, alpha.astype(np.float32) / 65535.0)
        return _float_to_u8(rgb)
    return ((rgb.astype(np.uint32) + 128) // 257).astype(np.uint8)


def _to_rgb8(im: Image.Image) -> np.ndarray:
    if im.mode in ("F", "I"):
        raise InvalidImage(
            "the photo's pixel format (32-bit) is not supported; export it as an 8- or 16-bit image"
        )
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("LA", "La", "PA", "RGBa", "RGBA"):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
        return _float_to_u8(_composite_on_white(rgba[..., :3], rgba[..., 3]))
    if im.mode != "RGB":
        im = im.convert("RGB")  # L, 1, CMYK (incl. Adobe's inverted), YCbCr, LAB, HSV
    return np.asarray(im)


def _composite_on_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """rgb, alpha in 0..1 float; returns 0..1 float RGB over a white background."""
    a = alpha[..., None]
    return rgb * a + (1.0 - a)


def _float_to_u8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def check_rgb8(image: np.ndarray, name: str = "image") -> None:
    """Raise ValueError unless `image` is an (H, W, 3) uint8 array: the pipeline's one photo format."""
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8
            and image.ndim == 3 and image.shape[2] == 3):
        raise ValueError(f"{name} must be an (H, W, 3) uint8 RGB array, as load_image returns")


# --- metadata --------------------------------------------------------------


def _orientation(exif: Image.Exif) -> int:
    try:
        value = int(exif.get(_TAG_ORIENTATION, 1))
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def _apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn a decoded image upright per EXIF orientation 1..8 (TIFF 6.0 / EXIF 2.3 tag 274)."""
    if orientation == 2:
        return cv2.flip(image, 1)
    if orientation == 3:
        return cv2.rotate(image, cv2.ROTATE_180)
    if orientation == 4:
        return cv2.flip(image, 0)
    if orientation == 5:
        return cv2.transpose(image)
    if orientation == 6:
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    if orientation == 7:
        return cv2.flip(cv2.transpose(image), -1)
    if orientation == 8:
        return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return image


def _capture_time(exif: Image.Exif) -> _dt.datetime | None:
    try:
        sub = exif.get_ifd(_IFD_EXIF)
        raw = sub.get(_TAG_DATETIME_ORIGINAL) or exif.get(_TAG_DATETIME)
        if not raw:
            return None
        stamp = _dt.datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
        offset = sub.get(_TAG_OFFSET_TIME_ORIGINAL)
        if offset:
            sign = -1 if str(offset).startswith("-") else 1
            hours, minutes = str(offset).strip("+-\x00 ").split(":")
            delta = _dt.timedelta(hours=int(hours), minutes=int(minutes))
            stamp = stamp.replace(tzinfo=_dt.timezone(sign * delta))
        return stamp
    except Exception:  # noqa: BLE001 -- a malformed date is no reason to refuse a photo
        return None
