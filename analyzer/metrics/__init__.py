"""The skin metrics: one registry of their names, units and directions.

Each metric is a pure function of maps in the analysis frame (see
:mod:`analyzer.compare`); this registry is the one place that knows their keys,
so the command line, the records and the dashboard all read it. Formulas,
references and validity figures: ``docs/metrics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["METRICS", "MetricInfo", "info"]


@dataclass(frozen=True)
class MetricInfo:
    """What a metric means to a reader.

    ``better`` is ``"lower"``, ``"higher"`` or ``None`` (neither: context decides).
    """

    key: str
    label: str
    unit: str
    direction: str
    better: str | None
    decimals: int


METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("redness.erythema_index", "Erythema index", "EI units", "higher = redder", "lower", 1),
    MetricInfo("redness.red_area_pct", "Red areas", "% of area", "higher = more red areas", "lower", 1),
    MetricInfo("pigmentation.melanin_index", "Melanin index", "MI units", "higher = darker", None, 1),
    MetricInfo("pigmentation.spot_count", "Brown spots", "spots", "higher = more spots", "lower", 0),
    MetricInfo("pigmentation.spot_area_pct", "Spot area", "% of area", "higher = more spotted", "lower", 2),
    MetricInfo("pigmentation.ita_deg", "ITA", "degrees", "higher = lighter", None, 1),
    MetricInfo("pigmentation.tone_unevenness", "Tone unevenness", "MI units", "lower = more even",
               "lower", 2),
    MetricInfo("texture.roughness", "Roughness", "relief units", "lower = smoother", "lower", 2),
    MetricInfo("texture.wrinkle_density", "Fine lines and wrinkles", "% of area",
               "higher = more lines", "lower", 2),
    MetricInfo("texture.pore_density", "Pores", "per cm²", "higher = more visible pores", "lower", 1),
)

_BY_KEY = {m.key: m for m in METRICS}


def info(key: str) -> MetricInfo:
    """The registry entry for `key`, also for zone keys such as ``zone.forehead.texture.roughness``."""
    if key.startswith("zone."):
        key = key.split(".", 2)[2]
    return _BY_KEY[key]
