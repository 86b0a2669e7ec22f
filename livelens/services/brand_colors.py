"""The accent colour of an account's customer page, checked for contrast. No I/O.

Buttons on the customer page are the accent colour with white text, so the colour must
be dark enough for that text to stay readable: a contrast ratio of at least 4.5:1
(WCAG 2.x, success criterion 1.4.3, for normal text), from the relative luminance of
both colours as WCAG defines it.
"""

from __future__ import annotations

import math
import re

from livelens.errors import InvalidInput

MIN_CONTRAST = 4.5  # against white text (WCAG 2.x AA, normal text)
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
PATTERN = "^#[0-9a-fA-F]{6}$"  # for the API's schema
WHITE = "#ffffff"


def _channel(value: int) -> float:
    """One sRGB channel (0 to 255), linearised."""
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    """WCAG's relative luminance of ``#rrggbb``: 0 for black, 1 for white."""
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG's contrast ratio of two ``#rrggbb`` colours, from 1 (same) to 21."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _shown(ratio: float) -> str:
    """A ratio as people read it (two decimals), never rounded up to the limit: 4.4999
    reads "4.49:1", not "4.50:1"."""
    shown = round(ratio, 2)
    if ratio < MIN_CONTRAST <= shown:
        shown = math.floor(ratio * 100) / 100
    return f"{shown:.2f}:1"


def check_accent(value: object) -> str:
    """An accent colour as an administrator gives it: ``#rrggbb`` (lower-cased), dark
    enough for white text on it; InvalidInput (field ``accent_color``) with the reason
    otherwise."""
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise InvalidInput("The accent colour must be written #rrggbb, e.g. #1d4ed8.",
                           field="accent_color")  # fmt: skip
    color = value.lower()
    ratio = contrast_ratio(color, WHITE)
    if ratio < MIN_CONTRAST:
        raise InvalidInput(
            f"The accent colour {color} has a contrast ratio of {_shown(ratio)} with the white "
            f"text of buttons; at least {MIN_CONTRAST}:1 is needed for it to be readable. "
            "Choose a darker colour.",
            field="accent_color",
            contrast=round(ratio, 2),
        )
    return color
