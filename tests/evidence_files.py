"""Files for registration evidence tests, made here: an ID photo that meets the platform's
rules, and scans of documents (PNG, JPEG, or an image in a PDF) with a title on them."""

import io
import random
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

# The CJK font the certificate PDFs use (fonts-noto-cjk); without it, Pillow's own.
_FONTS = ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
          "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def photo(*, background=(255, 255, 255), size=(295, 413)) -> bytes:
    """A head-and-shoulders stand-in on *background*, noisy enough to compress like a
    photo (about 20 KB)."""
    width, height = size
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.3, height * 0.16, width * 0.7, height * 0.56), fill=(205, 160, 130))
    draw.ellipse((width * 0.28, height * 0.1, width * 0.72, height * 0.3), fill=(40, 30, 25))
    draw.polygon([(0, height), (width * 0.08, height * 0.8), (width * 0.3, height * 0.68),
                  (width * 0.7, height * 0.68), (width * 0.92, height * 0.8), (width, height)],
                 fill=(30, 40, 80))
    rng, pixels = random.Random(0), image.load()
    for _ in range(width * height // 4):
        x, y = rng.randrange(width), rng.randrange(height)
        if pixels[x, y] != background:
            shift = rng.randrange(-25, 25)
            pixels[x, y] = tuple(max(0, min(255, c + shift)) for c in pixels[x, y])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _font(size: int):
    for path in _FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def scan(title: str, lines: tuple[str, ...] = (), *, size=(620, 440)) -> Image.Image:
    """A document's scan: a bordered page with a title and a few lines."""
    image = Image.new("RGB", size, (252, 250, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle((12, 12, size[0] - 12, size[1] - 12), outline=(150, 40, 40), width=4)
    draw.text((size[0] // 2, 70), title, fill=(120, 20, 20), font=_font(34), anchor="mm")
    for row, line in enumerate(lines):
        draw.text((50, 140 + row * 40), line, fill=(30, 30, 30), font=_font(20))
    return image


def encode(image: Image.Image, image_format: str) -> bytes:
    """The image as PNG, JPEG or a one-page PDF."""
    out = io.BytesIO()
    # A PDF is dated when written: a fixed date makes two calls give the same bytes.
    options = {"resolution": 100.0, "creationDate": _DATED, "modDate": _DATED} \
        if image_format == "PDF" else {}
    image.save(out, image_format, **options)
    return out.getvalue()


_DATED = time.gmtime(1767603600)  # 2026-01-05 09:00 UTC


def pdf(title: str = "Diploma", *lines: str) -> bytes:
    return encode(scan(title, lines), "PDF")


def png(title: str = "Certificate", *lines: str) -> bytes:
    return encode(scan(title, lines), "PNG")


def jpeg(title: str = "Employment", *lines: str) -> bytes:
    return encode(scan(title, lines), "JPEG")
