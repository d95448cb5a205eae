"""Speed and memory of the skin metrics on 12-megapixel photos.

Targets (issue 4): ``analyze`` of a 12 MP photo at most 1.5 s median and under
1 GB peak memory; ``compare`` of a 12 MP pair at most 3 s median. The photos
are the demo patient's front views (a face ~880 px wide at 2400 x 2600)
enlarged to 12 MP, so the face is ~1220 px wide, as from a phone at arm's
length. Each figure is measured in a fresh process so the peak resident memory
is that call's alone.

Usage::

    python bench/metrics.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEGAPIXELS = 12.0

_CHILD = r"""
import json, math, resource, sys, time
import cv2
sys.path.insert(0, {root!r})
from analyzer import analyze, compare, load_image

def big(name):
    img = load_image({root!r} + "/sample_images/" + name)
    f = math.sqrt({mp} * 1e6 / (img.shape[0] * img.shape[1]))
    return cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC)

before, after = big("session1_front.jpg"), big("session2_day1_front.jpg")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if {what!r} == "analyze":
    analyze(after)
else:
    compare(before, after)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": elapsed, "peak_mb": peak / 1024, "extra_mb": (peak - base) / 1024,
                  "shape": list(after.shape[:2])}}))
"""


def _run(what: str) -> dict:
    code = _CHILD.format(root=str(ROOT), mp=MEGAPIXELS, what=what)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description="Time analyze() and compare() on 12 MP photos.")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per call (default 5)")
    args = parser.parse_args()
    print(f"{'call':<10} {'photo':>12} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MB':>8} "
          f"{'added MB':>9}  target")
    targets = {"analyze": "<= 1.5 s, < 1 GB", "compare": "<= 3 s"}
    for what in ("analyze", "compare"):
        runs = [_run(what) for _ in range(args.runs)]
        times = [r["seconds"] for r in runs]
        h, w = runs[0]["shape"]
        print(f"{what:<10} {f'{w}x{h}':>12} {statistics.median(times):9.3f} {min(times):7.3f} "
              f"{max(times):7.3f} {max(r['peak_mb'] for r in runs):8.0f} "
              f"{max(r['extra_mb'] for r in runs):9.0f}  {targets[what]}")
    print(f"\n(peak MB: the whole process incl. two decoded {MEGAPIXELS:g} MP photos; "
          f"added MB: during the call; {time.strftime('%Y-%m-%d')})")


if __name__ == "__main__":
    main()
