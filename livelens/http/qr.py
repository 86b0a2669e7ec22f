"""QR codes as standalone SVG documents (they must carry the SVG namespace to render
inside an ``<img>``), with a data URI for pages under a strict CSP."""

from __future__ import annotations

import base64
import io

import segno


def qr_fields(text: str, scale: int = 5) -> dict[str, str]:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", xmldecl=False, scale=scale, border=2)
    svg = buffer.getvalue().decode()
    return {
        "qr_svg": svg,
        "qr_data_uri": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
    }
