"""OCR: the words of a page image, read by Tesseract (through tesserocr, in this process).

Tesseract runs inside the run's own executor process, so the run's memory limit and its timeout
bound it like any other step: a timeout or a cancel kills the process and Tesseract with it. One
engine is loaded per process and kept for the next pages. Its English data is Debian's
``tesseract-ocr-eng`` (``make tesseract`` installs it).

A scan is cleaned first: a slight blur takes the grain out, then Otsu's threshold makes it black
on white (Tesseract misreads grainy digits otherwise). A scan is often a little rotated: Tesseract
reads slanted lines well but its word boxes stay slanted, so the slant is measured from the lines'
baselines and the boxes are turned back before they are grouped into lines.
"""

from __future__ import annotations

import math
import statistics
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plainrun.books.documents.layout import Word

if TYPE_CHECKING:
    from PIL.Image import Image

#: Where Debian (and other distributions) keep Tesseract's trained data, newest first.
TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)
#: Characters that are ruling lines and frames read as text, not words.
_RULES = set("|_\u2014\u2013-=~.,'`\"")


class OcrUnavailable(Exception):
    """Tesseract's English data is not installed."""


@dataclass(frozen=True)
class OcrPage:
    words: list[Word]
    confidence: float | None
    skew_degrees: float


_lock = threading.Lock()
_engine: Any = None


def tessdata() -> str:
    for directory in TESSDATA_DIRS:
        if (Path(directory) / "eng.traineddata").is_file():
            return directory
    raise OcrUnavailable(
        "reading a scan needs Tesseract's English data (the Debian package tesseract-ocr-eng; "
        "`make tesseract` installs it)"
    )


def _api() -> Any:
    global _engine
    if _engine is None:
        import tesserocr

        _engine = tesserocr.PyTessBaseAPI(path=tessdata(), lang="eng", psm=tesserocr.PSM.SINGLE_COLUMN)
    return _engine


def read_image(image: Image, scale: float) -> OcrPage:
    """The words of ``image`` in page units (pixels divided by ``scale``), upright."""
    import tesserocr

    cleaned = clean(image)
    with _lock:
        api = _api()
        api.SetImage(cleaned)
        api.SetSourceResolution(max(70, round(72 * scale)))
        api.Recognize()
        iterator = api.GetIterator()
        words = []
        slopes = []
        for item in tesserocr.iterate_level(iterator, tesserocr.RIL.WORD):
            text = (item.GetUTF8Text(tesserocr.RIL.WORD) or "").strip()
            box = item.BoundingBox(tesserocr.RIL.WORD)
            confidence = float(item.Confidence(tesserocr.RIL.WORD))
            if not text or box is None or set(text) <= _RULES or _speck(text, confidence):
                continue
            words.append((text, box, confidence))
            if item.IsAtBeginningOf(tesserocr.RIL.TEXTLINE):
                slopes.extend(_slope(item.Baseline(tesserocr.RIL.TEXTLINE)))
        api.Clear()
    angle = statistics.median(slopes) if slopes else 0.0
    centre = (image.width / 2, image.height / 2)
    upright = [_turn(text, box, conf, angle, centre, scale) for text, box, conf in words]
    return OcrPage(upright, _mean_confidence(words), math.degrees(angle))


def clean(image: Image) -> Image:
    """The image blurred a little, made black on white at Otsu's threshold, and rid of specks."""
    from PIL import ImageFilter

    grey = image.convert("L") if image.mode != "L" else image
    blurred = grey.filter(ImageFilter.GaussianBlur(1))
    threshold = otsu(blurred.histogram())
    return blurred.point(lambda value: 255 if value > threshold else 0).filter(ImageFilter.MedianFilter(3))


def otsu(histogram: list[int]) -> int:
    """The grey level that best parts a histogram's dark pixels from its light ones."""
    total = sum(histogram)
    weighted = sum(level * count for level, count in enumerate(histogram))
    best, best_level = -1.0, 127
    dark = dark_sum = 0
    for level, count in enumerate(histogram):
        dark += count
        if dark == 0:
            continue
        light = total - dark
        if light == 0:
            break
        dark_sum += level * count
        mean_dark, mean_light = dark_sum / dark, (weighted - dark_sum) / light
        between = dark * light * (mean_dark - mean_light) ** 2
        if between > best:
            best, best_level = between, level
    return best_level


def _speck(text: str, confidence: float) -> bool:
    """A dot of dirt read as a letter or two: short, not a digit, and read with little confidence."""
    return len(text) <= 2 and not any(c.isdigit() for c in text) and confidence < 60


def _slope(baseline: Any) -> list[float]:
    if not baseline:
        return []
    (x1, y1), (x2, y2) = baseline
    if x2 - x1 < 100:
        return []
    return [math.atan2(y2 - y1, x2 - x1)]


def _turn(
    text: str,
    box: tuple[int, int, int, int],
    conf: float,
    angle: float,
    centre: tuple[float, float],
    scale: float,
) -> Word:
    """A word's box turned by ``-angle`` about the page's centre (its size kept), in page units."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2 - centre[0], (y0 + y1) / 2 - centre[1]
    cos, sin = math.cos(-angle), math.sin(-angle)
    mx, my = cx * cos - cy * sin + centre[0], cx * sin + cy * cos + centre[1]
    half_w, half_h = (x1 - x0) / 2, (y1 - y0) / 2
    return Word(
        text,
        (mx - half_w) / scale,
        (my - half_h) / scale,
        (mx + half_w) / scale,
        (my + half_h) / scale,
        conf,
    )


def _mean_confidence(words: list[tuple[str, Any, float]]) -> float | None:
    """The words' confidence (0-100) weighted by their length."""
    weight = sum(len(text) for text, _, _ in words)
    if not weight:
        return None
    return sum(len(text) * conf for text, _, conf in words) / weight
