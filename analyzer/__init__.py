"""Skin-progress analyzer: align treatment photos to the baseline and measure the skin.

The public API (see DESIGN.md) grows as the pipeline lands; today it is photo intake.
"""

from analyzer.images import InvalidImage, load_image

__all__ = ["InvalidImage", "load_image"]
__version__ = "0.1.0"
