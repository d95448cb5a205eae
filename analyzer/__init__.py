"""Skin-progress analyzer: align treatment photos to the baseline and measure the skin.

The public API (see DESIGN.md): photo intake, registration, and the skin metrics of
one photo (``analyze``) or of a later photo against the baseline (``compare``).
"""

from analyzer.align import Alignment, align
from analyzer.compare import Comparison, Metrics, NoSkin, analyze, compare
from analyzer.images import InvalidImage, load_image

__all__ = ["Alignment", "Comparison", "InvalidImage", "Metrics", "NoSkin", "align", "analyze", "compare",
           "load_image"]
__version__ = "0.1.0"
