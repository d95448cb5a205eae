"""sRGB <-> linear light: IEC 61966-2-1 values, and the uint8 fast path agrees with the formula."""

import numpy as np

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
