"""The rules of the customer page's branding: the accent colour's contrast with white
text (WCAG 2.x), and what a logo may be (checked from its own header, then re-encoded
from its pixels)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from livelens.errors import InvalidInput, PayloadTooLarge
from livelens.services import brand_colors, logo_images

# -- contrast ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "ratio"),
    [
        ("#ffffff", "#000000", 21.0),
        ("#000000", "#ffffff", 21.0),  # in either order
        ("#1d4ed8", "#1d4ed8", 1.0),
        ("#767676", "#ffffff", 4.54),  # the lightest grey that passes on white
        ("#777777", "#ffffff", 4.48),
        ("#2563eb", "#ffffff", 5.17),  # LiveLens's own blue
        ("#ff0000", "#ffffff", 4.0),
    ],
)
def test_contrast_ratios_are_wcags(first: str, second: str, ratio: float) -> None:
    assert brand_colors.contrast_ratio(first, second) == pytest.approx(ratio, abs=0.005)


def test_relative_luminance_runs_from_black_to_white() -> None:
    assert brand_colors.relative_luminance("#000000") == 0
    assert brand_colors.relative_luminance("#FFFFFF") == pytest.approx(1)
    # The linear part of the sRGB curve, below 0.04045.
    assert brand_colors.relative_luminance("#0a0a0a") == pytest.approx(10 / 255 / 12.92)


@pytest.mark.parametrize("color", ["#767676", "#0F766E", "#000000", "#1d4ed8"])
def test_dark_enough_accents_are_taken_lower_cased(color: str) -> None:
    assert brand_colors.check_accent(color) == color.lower()


@pytest.mark.parametrize(("color", "shown"), [("#777777", "4.48:1"), ("#ffcc00", "1.51:1"),
                                               ("#ffffff", "1.00:1")])  # fmt: skip
def test_light_accents_are_refused_with_their_contrast(color: str, shown: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        brand_colors.check_accent(color)
    assert refused.value.details["field"] == "accent_color"
    assert f"contrast ratio of {shown}" in refused.value.message
    assert "at least 4.5:1" in refused.value.message


def test_a_ratio_just_below_the_limit_is_never_shown_as_the_limit() -> None:
    # #767677's ratio is 4.5397...; one that lies in [4.495, 4.5) must not read "4.50:1".
    assert brand_colors._shown(4.4999) == "4.49:1"


@pytest.mark.parametrize("color", ["#fff", "red", "#12345g", "1d4ed8", "#1d4ed8 ", 0x1D4ED8, None])
def test_accents_not_written_rrggbb_are_refused(color: object) -> None:
    with pytest.raises(InvalidInput, match="#rrggbb"):
        brand_colors.check_accent(color)


# -- logos: the header ------------------------------------------------------------------


def image_bytes(
    kind: str, size: tuple[int, int] = (40, 20), mode: str = "RGB", **options: object
) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (15, 118, 110) if mode == "RGB" else 0).save(out, kind, **options)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG signature and a well-formed IHDR chunk (CRC right) naming any size."""
    body = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body
            + struct.pack(">I", zlib.crc32(body)))  # fmt: skip


def test_png_and_jpeg_headers_give_type_and_size() -> None:
    assert logo_images.inspect(image_bytes("PNG", (300, 120))) == logo_images.ImageHeader(
        "image/png", 300, 120
    )
    assert logo_images.inspect(image_bytes("JPEG", (64, 1024))) == logo_images.ImageHeader(
        "image/jpeg", 64, 1024
    )
    progressive = image_bytes("JPEG", (33, 17), progressive=True)
    assert logo_images.inspect(progressive).width == 33


@pytest.mark.parametrize(("size", "shown"), [((10000, 10000), "10000 x 10000"),
                                              ((1025, 10), "1025 x 10"),
                                              ((10, 1025), "10 x 1025")])  # fmt: skip
def test_a_png_claiming_too_many_pixels_is_refused_before_decoding(
    size: tuple[int, int], shown: str
) -> None:
    claim = png_claiming(*size)  # no pixel data at all: nothing is decoded
    with pytest.raises(InvalidInput, match=f"is {shown} pixels; at most 1024 x 1024"):
        logo_images.inspect(claim)
    with pytest.raises(InvalidInput, match="at most 1024 x 1024"):
        logo_images.reencode(claim)


def test_a_jpeg_claiming_too_many_pixels_is_refused() -> None:
    big = bytearray(image_bytes("JPEG", (16, 16)))
    at = big.index(b"\xff\xc0")
    big[at + 5 : at + 9] = struct.pack(">HH", 5000, 6000)  # height, width
    with pytest.raises(InvalidInput, match="6000 x 5000 pixels"):
        logo_images.inspect(bytes(big))


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b"GIF89a\x10\x00\x10\x00" + b"\x00" * 40, "a GIF"),
        (b"GIF87a" + b"\x00" * 40, "a GIF"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 40, "a WebP"),
        (b"  <svg xmlns='http://www.w3.org/2000/svg'></svg>", "an SVG"),
        (b"\x00\x00\x00\x1cftypavif" + b"\x00" * 40, "an AVIF"),
    ],
)
def test_other_formats_are_refused_by_name(data: bytes, named: str) -> None:
    with pytest.raises(InvalidInput, match=rf"a PNG or JPEG image \(this file is {named}\)"):
        logo_images.inspect(data)


def test_a_real_gif_is_refused() -> None:
    with pytest.raises(InvalidInput, match="a GIF"):
        logo_images.reencode(image_bytes("GIF", mode="P"))


def test_anything_else_is_refused() -> None:
    for data in (b"hello, world" * 10, b"\x00" * 64):
        with pytest.raises(InvalidInput, match=r"must be a PNG or JPEG image\.$"):
            logo_images.inspect(data)
    with pytest.raises(InvalidInput, match="Send the logo"):
        logo_images.inspect(b"")


def test_an_oversize_body_is_refused_with_the_limit() -> None:
    body = image_bytes("PNG") + b"\x00" * (256 * 1024)
    with pytest.raises(PayloadTooLarge, match="at most 256 KiB; this file has 257 KiB"):
        logo_images.inspect(body)
    logo_images.check_size(256 * 1024)  # the limit itself is fine
    with pytest.raises(PayloadTooLarge):
        logo_images.check_size(256 * 1024 + 1)


@pytest.mark.parametrize("cut", [8, 20, 32])
def test_a_png_cut_inside_its_header_is_damaged(cut: int) -> None:
    with pytest.raises(InvalidInput, match="damaged or incomplete"):
        logo_images.inspect(image_bytes("PNG")[:cut])


def test_a_png_whose_header_checksum_is_wrong_is_damaged() -> None:
    data = bytearray(image_bytes("PNG"))
    data[20] ^= 0x01  # the height, without fixing the CRC
    with pytest.raises(InvalidInput, match="damaged"):
        logo_images.inspect(bytes(data))


@pytest.mark.parametrize("cut", [2, 3, 30])
def test_a_jpeg_cut_before_its_frame_header_is_damaged(cut: int) -> None:
    data = image_bytes("JPEG")
    assert data.index(b"\xff\xc0") > 30
    with pytest.raises(InvalidInput, match="damaged"):
        logo_images.inspect(data[:cut])


def test_jpeg_kinds_that_browsers_may_not_show_are_refused() -> None:
    data = bytearray(image_bytes("JPEG"))
    at = data.index(b"\xff\xc0")
    data[at + 1] = 0xC3  # lossless
    with pytest.raises(InvalidInput, match="lossless, hierarchical or arithmetic"):
        logo_images.inspect(bytes(data))


# -- logos: re-encoding -----------------------------------------------------------------


def test_a_truncated_png_is_refused_when_decoded() -> None:
    noisy = Image.frombytes("RGB", (200, 200), bytes(range(256)) * 468 + bytes(192))
    out = io.BytesIO()
    noisy.save(out, "PNG")
    whole = out.getvalue()
    half = whole[: len(whole) // 2]
    assert logo_images.inspect(half).width == 200  # its header is whole
    with pytest.raises(InvalidInput, match="damaged or incomplete"):
        logo_images.reencode(half)


def test_a_png_is_kept_as_png_without_its_metadata_or_trailing_bytes() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-comment")
    out = io.BytesIO()
    Image.new("RGBA", (120, 60), (15, 118, 110, 128)).save(out, "PNG", pnginfo=info)
    sent = out.getvalue() + b"<script>alert(1)</script>"

    logo = logo_images.reencode(sent)
    assert (logo.media_type, logo.width, logo.height) == ("image/png", 120, 60)
    assert b"secret-comment" not in logo.data and b"<script>" not in logo.data
    with Image.open(io.BytesIO(logo.data)) as kept:
        assert kept.format == "PNG" and kept.mode == "RGBA"
        assert kept.getpixel((5, 5)) == (15, 118, 110, 128)
        assert "Comment" not in kept.info


def test_a_palette_png_keeps_its_transparency() -> None:
    image = Image.new("P", (10, 10), 1)
    image.putpalette([255, 255, 255, 15, 118, 110] + [0] * 762)
    out = io.BytesIO()
    image.save(out, "PNG", transparency=0)
    with Image.open(io.BytesIO(logo_images.reencode(out.getvalue()).data)) as kept:
        assert kept.convert("RGBA").getpixel((0, 0)) == (15, 118, 110, 255)
        assert kept.info.get("transparency") == 0


def test_a_jpeg_loses_its_exif_and_stands_upright() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to show
    exif[0x010E] = "secret-description"
    sent = image_bytes("JPEG", (40, 20), exif=exif.tobytes())

    logo = logo_images.reencode(sent)
    assert (logo.media_type, logo.width, logo.height) == ("image/jpeg", 20, 40)
    assert b"secret-description" not in logo.data and b"Exif" not in logo.data
    with Image.open(io.BytesIO(logo.data)) as kept:
        assert kept.format == "JPEG" and kept.size == (20, 40)


def test_a_cmyk_jpeg_is_kept_as_rgb() -> None:
    logo = logo_images.reencode(image_bytes("JPEG", (16, 16), mode="CMYK"))
    with Image.open(io.BytesIO(logo.data)) as kept:
        assert kept.mode == "RGB"
