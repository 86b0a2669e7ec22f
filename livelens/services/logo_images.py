"""An account's logo: checked from the bytes an administrator sends, then re-encoded.
No I/O (the decoding is CPU work: callers run :func:`reencode` off the event loop).

Two steps, so that nothing crafted reaches a customer's browser:

1. :func:`inspect` reads the file's own header, without decoding anything: the body
   size (at most 256 KiB), the signature (PNG or JPEG only; other formats are named in
   the refusal), and the dimensions from the PNG's IHDR chunk (CRC checked) or the
   JPEG's frame header (SOF), at most 1024 x 1024 pixels. A file claiming to be huge is
   refused before a single pixel is decoded.
2. :func:`reencode` decodes the image with Pillow (restricted to the format found, and
   only once its size is known to be small) and writes a new file of the same format
   from the pixels alone: metadata (EXIF, GPS, comments, colour profiles, text chunks)
   and anything hidden after or between the image data is gone, and a damaged or
   truncated file is refused rather than served. A JPEG's EXIF orientation is applied
   to the pixels first, so the logo still stands the right way up.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from PIL import Image, ImageOps

from livelens.errors import InvalidInput, PayloadTooLarge

MAX_LOGO_BYTES = 256 * 1024
MAX_LOGO_SIDE = 1024  # pixels, either way
MAX_STORED_BYTES = 1024 * 1024  # a re-encoded logo (never near it in practice)
MEDIA_TYPES = ("image/png", "image/jpeg")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8"
# Frame headers of the JPEG kinds every browser shows: baseline, extended sequential
# and progressive, Huffman-coded. (Lossless, hierarchical and arithmetic-coded ones are
# refused with a reason.)
_SOF_SHOWN = {0xC0, 0xC1, 0xC2}
_SOF_OTHER = {0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # markers without a length
_SOS, _EOI = 0xDA, 0xD9
# Formats people often try, named in the refusal.
_OTHER_FORMATS = (
    (b"GIF87a", "a GIF"),
    (b"GIF89a", "a GIF"),
    (b"BM", "a BMP"),
    (b"II*\x00", "a TIFF"),
    (b"MM\x00*", "a TIFF"),
    (b"\x00\x00\x01\x00", "an ICO"),
    (b"<svg", "an SVG"),
    (b"<?xml", "an SVG or other XML"),
)


@dataclass(frozen=True)
class ImageHeader:
    media_type: str  # "image/png" or "image/jpeg"
    width: int
    height: int

    @property
    def pillow_format(self) -> str:
        return "PNG" if self.media_type == "image/png" else "JPEG"


@dataclass(frozen=True)
class Logo:
    """A logo as it is kept and served: re-encoded, metadata-free."""

    data: bytes
    media_type: str
    width: int
    height: int


def _damaged(what: str) -> InvalidInput:
    return InvalidInput(f"The {what} is damaged or incomplete; save it again and send it again.")


def _named(data: bytes) -> str | None:
    """What a file that is neither PNG nor JPEG looks like, if it is a known format."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "an AVIF"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return "a HEIC"
    start = data[:64].lstrip()
    for magic, name in _OTHER_FORMATS:
        if start.startswith(magic) if magic[:1] == b"<" else data.startswith(magic):
            return name
    return None


def _png_size(data: bytes) -> tuple[int, int]:
    # Signature, then the IHDR chunk, always first: length 13, type, data, CRC.
    if len(data) < 33:
        raise _damaged("PNG image")
    length, kind = struct.unpack(">I4s", data[8:16])
    if length != 13 or kind != b"IHDR":
        raise _damaged("PNG image")
    if zlib.crc32(data[12:29]) != struct.unpack(">I", data[29:33])[0]:
        raise _damaged("PNG image")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """The dimensions in the first frame header, walking the segments before it."""
    at = 2
    while True:
        if at >= len(data) or data[at] != 0xFF:
            raise _damaged("JPEG image")
        while at < len(data) and data[at] == 0xFF:  # fill bytes
            at += 1
        if at >= len(data):
            raise _damaged("JPEG image")
        marker = data[at]
        at += 1
        if marker in _STANDALONE:
            continue
        if marker in (_SOS, _EOI):  # image data, or the end, before any frame header
            raise _damaged("JPEG image")
        if at + 2 > len(data):
            raise _damaged("JPEG image")
        (length,) = struct.unpack(">H", data[at : at + 2])
        if length < 2 or at + length > len(data):
            raise _damaged("JPEG image")
        if marker in _SOF_OTHER:
            raise InvalidInput("This JPEG is encoded in a way browsers may not show (lossless, "
                               "hierarchical or arithmetic coding). Save it as a standard "
                               "JPEG or as a PNG.")  # fmt: skip
        if marker in _SOF_SHOWN:
            if length < 8:
                raise _damaged("JPEG image")
            height, width = struct.unpack(">HH", data[at + 3 : at + 7])
            return width, height
        at += length


def check_size(size: int) -> None:
    """Refuse a body too large for a logo (before anything is read from it)."""
    if size > MAX_LOGO_BYTES:
        raise PayloadTooLarge(f"A logo can be at most {MAX_LOGO_BYTES // 1024} KiB; this file "
                              f"has {-(-size // 1024)} KiB. Make it smaller (at most "
                              f"{MAX_LOGO_SIDE} x {MAX_LOGO_SIDE} pixels is plenty).")  # fmt: skip


def inspect(data: bytes) -> ImageHeader:
    """The type and dimensions of a logo from its own header; refused with the reason
    when it is too large, not PNG or JPEG, damaged, or more than 1024 pixels either way."""
    check_size(len(data))
    if not data:
        raise InvalidInput("Send the logo as the request body: a PNG or JPEG image.")
    if data.startswith(_PNG_SIGNATURE):
        media_type, (width, height) = "image/png", _png_size(data)
    elif data.startswith(_JPEG_SOI):
        media_type, (width, height) = "image/jpeg", _jpeg_size(data)
    else:
        named = _named(data)
        seems = f" (this file is {named})" if named else ""
        raise InvalidInput(f"A logo must be a PNG or JPEG image{seems}.")
    if width < 1 or height < 1:
        raise _damaged("image")
    if width > MAX_LOGO_SIDE or height > MAX_LOGO_SIDE:
        raise InvalidInput(f"The logo is {width} x {height} pixels; at most {MAX_LOGO_SIDE} x "
                           f"{MAX_LOGO_SIDE} is allowed. Scale it down.")  # fmt: skip
    return ImageHeader(media_type, width, height)


def _pixels_only(image: Image.Image, header: ImageHeader) -> tuple[Image.Image, dict[str, object]]:
    """The decoded image without its metadata, in a mode its format writes, and what
    the encoder needs to keep it as it looks (a PNG's transparent colour)."""
    upright = ImageOps.exif_transpose(image)
    options: dict[str, object] = {}
    if header.media_type == "image/jpeg":
        clean = upright if upright.mode in ("L", "RGB") else upright.convert("RGB")
        options["quality"] = 90
    elif upright.mode in ("1", "L", "LA", "P", "RGB", "RGBA"):
        clean = upright.copy()
        transparency = image.info.get("transparency")
        if transparency is not None:
            options["transparency"] = transparency
    else:  # 16-bit and other modes: 8-bit RGBA keeps what a logo needs
        clean = upright.convert("RGBA")
    clean.info = {}
    return clean, options


def reencode(data: bytes) -> Logo:
    """Check a logo (:func:`inspect`), decode it and write it anew from its pixels."""
    header = inspect(data)
    try:
        with Image.open(io.BytesIO(data), formats=[header.pillow_format]) as image:
            if image.size != (header.width, header.height):
                raise _damaged("image")
            image.load()
            clean, options = _pixels_only(image, header)
            out = io.BytesIO()
            clean.save(out, header.pillow_format, **options)
    except InvalidInput:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise _damaged("image") from exc
    encoded = out.getvalue()
    if len(encoded) > MAX_STORED_BYTES:
        raise InvalidInput("The logo is too detailed to keep; simplify it or send a JPEG.")
    return Logo(encoded, header.media_type, clean.width, clean.height)
