"""Skin-progress analyzer: align treatment photos to the baseline and measure the skin.

The public API (see DESIGN.md) grows as the pipeline lands: photo intake and registration.
"""

from analyzer.align import Alignment, align
from analyzer.images import InvalidImage, load_image

__all__ = ["Alignment", "InvalidImage", "align", "load_image"]
__version__ = "0.1.0"
