"""sRGB <-> linear light: IEC 61966-2-1 values, and the uint8 fast path agrees with the formula."""

import math

import numpy as np
import pytest

from analyzer.color import linear_to_srgb, srgb_to_linear


def test_known_values_of_the_srgb_transfer_function():
    # 0.5 sRGB is 0.214 linear; 0.04045 is the knee (IEC 61966-2-1)
    np.testing.assert_allclose(srgb_to_linear(np.float32([0.0, 0.04045, 0.5, 1.0])),
                               [0.0, 0.04045 / 12.92, 0.21404, 1.0], atol=1e-5)


def test_uint8_lookup_matches_the_formula_and_round_trips():
    levels = np.arange(256, dtype=np.uint8)
    linear = srgb_to_linear(levels)
    assert linear.dtype == np.float32
    np.testing.assert_allclose(linear, srgb_to_linear(levels / 255.0), atol=1e-6)
    np.testing.assert_array_equal(np.rint(linear_to_srgb(linear) * 255).astype(np.uint8), levels)


def _photo_like(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.02, 0.9, (200, 300, 3)).astype(np.float32)


def test_the_light_estimate_follows_exposure_and_white_balance_exactly():
    from analyzer.color import estimate_illuminant, normalize

    linear = _photo_like()
    reference = np.zeros(linear.shape[:2], bool)
    reference[:, :150] = True
    gains = np.array([1.25, 0.9, 0.7], np.float32)
    a = estimate_illuminant(linear, reference)
    b = estimate_illuminant(linear * gains, reference)
    np.testing.assert_allclose(np.array(b.rgb) / np.array(a.rgb), gains, rtol=1e-5)
    np.testing.assert_allclose(normalize(linear * gains, b), normalize(linear, a), rtol=1e-5)
    assert estimate_illuminant(linear, np.zeros_like(reference)).source == "camera"


def test_unmixing_recovers_planted_chromophores():
    from analyzer.color import HAEMOGLOBIN, MELANIN, SHADING, unmix

    amounts = np.array([0.2, 0.1, 0.3], np.float32)
    od = amounts[0] * HAEMOGLOBIN + amounts[1] * MELANIN + amounts[2] * SHADING
    np.testing.assert_allclose(unmix(od), amounts, atol=1e-6)


def test_tone_matching_undoes_exposure_white_balance_and_gamma():
    from analyzer.color import match_tone

    fixed = _photo_like(1)
    moving = np.clip((fixed * np.float32([1.2, 1.0, 0.85])) ** np.float32(1.1), 0, 1)
    reference = np.ones(fixed.shape[:2], bool)
    tone = match_tone(moving, fixed, reference)
    restored = tone.apply(moving)
    inside = (fixed > 0.05) & (moving < 0.98)  # within the reference's range; clipped is lost
    # quantile knots every 2 %: piecewise-linear in log-log, measured max error 0.4 %
    np.testing.assert_allclose(restored[inside], fixed[inside], rtol=0.01)


def test_tone_change_reads_a_power_of_the_srgb_values_whatever_the_gains():
    """A gamma of the sRGB values, on a dark reference too, is read back with gains alongside it."""
    from analyzer.color import IDENTITY_TONE, match_tone

    fixed = _photo_like(1)
    reference = np.ones(fixed.shape[:2], bool)
    rows = []
    for dark in (1.0, 0.15):  # the whole range, and a dark reference (a navy uniform, a cap)
        for gains in ((1.0, 1.0, 1.0), (1.25, 1.1, 0.9), (0.75, 0.8, 0.9)):
            for gamma in (0.87, 1.0, 1.15):
                scene = fixed * np.float32(dark)
                srgb = linear_to_srgb(np.clip(scene * np.float32(gains), 0, 1)) ** np.float32(gamma)
                tone = match_tone(srgb_to_linear(srgb), scene, reference)
                rows.append((dark, gains, gamma, tone.change()["power"]))
    worst = max(abs(read - gamma) for _, _, gamma, read in rows)
    # measured: within 0.0007 of the gamma (the knots' linear interpolation); the mean log-log slope
    # of linear light alone (before algorithm 1.8) read up to 0.078 off on the dark reference
    assert worst < 0.003, rows
    assert IDENTITY_TONE.change()["power"] == 1.0


def test_block_means_are_geometric_means_of_whole_blocks():
    """Taken in strips of rows (to keep the float copies small): the same as over the whole photo."""
    from analyzer.color import block_means

    rng = np.random.default_rng(2)
    srgb = rng.integers(30, 240, (1037, 301, 3), dtype=np.uint8)  # several strips and a partial block
    srgb[700:703, 10] = 255  # a clipped pixel spoils its block only
    for block in (3, 8):
        means, unclipped = block_means(srgb, block)
        rows, cols = 1037 // block, 301 // block
        whole = srgb_to_linear(srgb[: rows * block, : cols * block]).astype(np.float64)
        blocks = np.log(whole).reshape(rows, block, cols, block, 3)
        np.testing.assert_allclose(means, np.exp(blocks.mean(axis=(1, 3))), rtol=1e-4)
        spoiled = np.zeros((rows, cols), bool)
        spoiled[700 // block: 702 // block + 1, 10 // block] = True
        np.testing.assert_array_equal(unclipped, ~spoiled)


def test_one_shared_power_carries_a_narrow_reference_to_skin_far_darker():
    """A close-up's surroundings may span a fifth of the skin's tones: one power for R, G and B holds."""
    from analyzer.color import match_tone, match_tone_power

    rng = np.random.default_rng(3)
    fixed = np.exp(rng.uniform(np.log(0.45), np.log(0.65), (120, 120, 3))).astype(np.float32)  # a pale wall
    fixed = np.clip(fixed + rng.normal(0, 0.004, fixed.shape), 0, 1).astype(np.float32)  # and its noise
    skin = np.float32([[[0.30, 0.13, 0.07], [0.12, 0.05, 0.025]]])  # light and dark skin, below its range
    worst = {"shared power": 0.0, "quantile curve": 0.0}
    for gains in ((1.2, 1.0, 0.85), (0.8, 0.9, 1.1)):
        for gamma in (0.87, 1.15):
            def relit(linear, gains=gains, gamma=gamma):
                srgb = linear_to_srgb(np.clip(linear * np.float32(gains), 0, 1)) ** np.float32(gamma)
                return srgb_to_linear(srgb)
            reference = np.ones(fixed.shape[:2], bool)
            wall = srgb_to_linear(np.round(linear_to_srgb(relit(fixed)) * 255).astype(np.uint8))  # 8 bits
            for name, fit in (("shared power", match_tone_power), ("quantile curve", match_tone)):
                tone = fit(wall, fixed, reference)
                # the skin's erythema as the tone curve reads it: 100 log10(R / G)
                error = np.abs(np.log10(tone.apply(relit(skin)) / skin) @ np.float32([1, -1, 0])) * 100
                worst[name] = max(worst[name], float(error.max()))
                if name == "shared power":
                    assert tone.change()["power"] == pytest.approx(gamma, abs=0.01)
    # measured: 0.06 EI units with one power (read within 0.002), 1.3 with a curve per channel, whose
    # slopes beyond the reference's range come from its 8-bit noise (+0.2 OD of haemoglobin: 8 units)
    assert worst["shared power"] < 0.2, worst
    assert worst["quantile curve"] > 3 * worst["shared power"], worst


# (look, white-balance gains, amount): a power of the sRGB values or a contrast S-curve on them
_LOOKS = [(look, gains, amount) for look in ("power", "S-curve")
          for gains in ((1.2, 1.0, 0.85), (0.8, 0.9, 1.1)) for amount in (-0.15, 0.15)]


def _surfaces(seed: int, *parts) -> np.ndarray:
    """Rows of uniform-in-log surfaces, each (low, high, rows, tint), with a little noise; linear float32."""
    rng = np.random.default_rng(seed)
    rows = [np.exp(rng.uniform(np.log(low), np.log(high), (n, 120, 3))) * np.float32(tint)
            for low, high, n, tint in parts]
    fixed = np.concatenate(rows)
    return np.clip(fixed + rng.normal(0, 0.003, fixed.shape), 1e-3, 1).astype(np.float32)


def _looked(linear: np.ndarray, look: str, gains, amount: float) -> np.ndarray:
    v = linear_to_srgb(np.clip(linear * np.float32(gains), 0, 1)).astype(np.float64)
    v = v ** (1 + amount) if look == "power" else v + amount * 4 * v * (1 - v) * (2 * v - 1)
    return srgb_to_linear(np.clip(v, 0, 1).astype(np.float32))


def _melanin_read(fit, fixed: np.ndarray, skin: np.ndarray, look: str, gains, amount: float, *,
                  shapes: bool):
    """The tone fitted from the later photo of `fixed` (8-bit) and how far off it reads the skin's melanin.

    ``shapes=False``: as before algorithm 1.12 (no shape departs). Returns (Tone, worst error in 0.01 OD).
    """
    import analyzer.color as color

    later = _looked(fixed, look, gains, amount)
    later = srgb_to_linear(np.round(linear_to_srgb(later) * 255).astype(np.uint8))  # 8 bits
    with pytest.MonkeyPatch.context() as patch:
        if not shapes:
            patch.setattr(color, "SHAPE_LIMIT", math.inf)
        tone = fit(later, fixed, np.ones(fixed.shape[:2], bool))
    to_amounts = np.linalg.inv(np.stack([color.HAEMOGLOBIN, color.MELANIN, color.SHADING], axis=1)).T
    read = tone.apply(_looked(skin, look, gains, amount))
    return tone, float(100 * np.abs((-np.log(read / skin) @ to_amounts)[..., 1]).max())


def test_a_tone_curve_of_another_shape_is_seen_and_followed_where_the_surroundings_show_it():
    """Another phone's "look" (a contrast S-curve) is no power: its departure is read, and the power bent.

    Surroundings of three surfaces (dark hair, a pale wall, bright teeth) and skin between them;
    relit by gains and either a power (a gamma) or a contrast S-curve on the sRGB values.
    """
    from analyzer.color import SHAPE_LIMIT, match_tone_power

    fixed = _surfaces(4, (0.02, 0.05, 30, (1.0, 0.8, 0.6)), (0.45, 0.65, 60, (1.0, 1.0, 1.0)),
                      (0.70, 0.85, 30, (1.0, 0.97, 0.9)))
    skin = np.float32([[[0.30, 0.13, 0.07], [0.45, 0.25, 0.17], [0.12, 0.05, 0.025]]])
    worst: dict[tuple[str, bool], float] = {}
    departures: dict[str, list[float]] = {"power": [], "S-curve": []}
    for look, gains, amount in _LOOKS:
        for shapes in (True, False):
            tone, error = _melanin_read(match_tone_power, fixed, skin, look, gains, amount, shapes=shapes)
            worst[(look, shapes)] = max(worst.get((look, shapes), 0.0), error)
        departures[look].append(tone.departure)
    # measured: 0.28..0.32 code steps under powers (8-bit rounding), 3.8..7.0 under the S-curves
    assert max(departures["power"]) < SHAPE_LIMIT < 3 < min(departures["S-curve"]), departures
    # under powers the curve is the power, unbent; measured 0.16
    assert worst[("power", True)] == worst[("power", False)] < 0.5, worst
    # measured: the power alone read the skin's melanin up to 0.35 OD off (3.5 tans), bent 0.08
    assert worst[("S-curve", True)] < 0.5 * worst[("S-curve", False)], worst


def test_beyond_a_channels_own_tones_its_curve_follows_the_curve_the_others_show():
    """Around a face, the skin's red may lie beyond the reference's reds but within its blues.

    A grey wall (0.03..0.35) and a blue top (blue up to 0.8, red 0.2); skin with red 0.55..0.65.
    Under a power each channel's quantile curve runs on straight, as before; under another
    phone's look (a contrast S-curve) it runs on along the shared curve the other channels show.
    """
    from analyzer.color import match_tone

    fixed = _surfaces(5, (0.03, 0.35, 60, (1.0, 1.0, 1.0)), (0.3, 0.8, 40, (0.25, 0.5, 1.0)))
    skin = np.float32([[[0.55, 0.30, 0.2], [0.65, 0.40, 0.3]]])
    errors: dict[tuple[str, bool], list[float]] = {}
    for look, gains, amount in _LOOKS:
        for shapes in (True, False):
            _, error = _melanin_read(match_tone, fixed, skin, look, gains, amount, shapes=shapes)
            errors.setdefault((look, shapes), []).append(error)
    # under powers nothing departs (measured 0.28..0.32 code steps): the curves are as before
    assert errors[("power", True)] == errors[("power", False)], errors
    # measured: 0.084 OD off on average over the four looks (0.66..24), run on straight 0.157 (8.4..28.5)
    mean = {shapes: np.mean(errors[("S-curve", shapes)]) for shapes in (True, False)}
    assert mean[True] < 0.7 * mean[False], errors
