"""Placeholder product photos for demo content: a soft two-tone gradient with a few translucent shapes."""
from __future__ import annotations

import colorsys
import hashlib
import io
import random

from PIL import Image, ImageChops, ImageDraw, ImageFilter

SIZE = 800
# Drawn small and scaled up: the picture is all soft gradients, and drawing at full size costs ten times more.
DRAW_SIZE = 200
PALETTE_COLOURS = 128


def colour_for(slug: str, image_color: str | None = None) -> tuple[int, int, int]:
    """The base colour: the file's `image_color` ("#rrggbb") if given, else a pleasant one derived from the slug."""
    if image_color:
        value = image_color.lstrip("#")
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    digest = hashlib.sha256(slug.encode("utf-8")).digest()
    hue = digest[0] / 255
    red, green, blue = colorsys.hls_to_rgb(hue, 0.62, 0.45)
    return round(red * 255), round(green * 255), round(blue * 255)


def placeholder_png(slug: str, image_color: str | None = None) -> bytes:
    """An 800×800 PNG for the product: the same slug and colour always give the same picture."""
    small = _draw(slug, colour_for(slug, image_color), DRAW_SIZE)
    # A palette keeps the PNG about 10 KB and store_upload's optimised re-encode fast. Dithering would hide
    # the faint banding but makes every pixel differ, which triples the encoding time and the file size.
    # The palette is chosen on the small drawing: the same colours, a sixteenth of the pixels to sort.
    palette = small.quantize(PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
    image = small.resize((SIZE, SIZE), Image.Resampling.BICUBIC).quantize(palette=palette, dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _draw(slug: str, base: tuple[int, int, int], size: int) -> Image.Image:
    light = _mix(base, (255, 255, 255), 0.72)
    deep = _mix(base, (0, 0, 0), 0.12)
    # linear_gradient is black-to-white from top to bottom; averaging it with its quarter turn runs corner to corner.
    vertical = Image.linear_gradient("L").resize((size, size))
    mask = ImageChops.add(vertical, vertical.rotate(90), scale=2)
    image = Image.composite(Image.new("RGB", (size, size), deep), Image.new("RGB", (size, size), light), mask)

    rng = random.Random(hashlib.sha256(slug.encode("utf-8")).digest())
    for _ in range(3):
        radius = rng.randint(size * 3 // 20, size * 13 // 40)
        x, y = rng.randint(size // 10, size * 9 // 10), rng.randint(size // 10, size * 9 // 10)
        tone = _mix(base, (255, 255, 255), rng.uniform(0.2, 0.9))
        # Each shape gets its own blurred alpha, so its soft edge fades into the picture instead of into black.
        alpha = Image.new("L", (size, size), 0)
        ImageDraw.Draw(alpha).ellipse((x - radius, y - radius, x + radius, y + radius), fill=rng.randint(70, 120))
        image = Image.composite(Image.new("RGB", (size, size), tone), image, alpha.filter(ImageFilter.BoxBlur(size // 40)))
    return image


def _mix(colour: tuple[int, int, int], other: tuple[int, int, int], share: float) -> tuple[int, int, int]:
    return tuple(round(a * (1 - share) + b * share) for a, b in zip(colour, other))  # type: ignore[return-value]
