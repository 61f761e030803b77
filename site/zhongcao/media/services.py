"""Store images safely: decode with Pillow under size and pixel limits, re-encode (dropping EXIF), generate the name."""
from __future__ import annotations

import io
import secrets
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlmodel import Session

from zhongcao.db import atomic
from zhongcao.errors import InvalidInput, NotFound
from zhongcao.media.models import Upload

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # decompression bombs: a tiny PNG can claim 100k x 100k pixels
MAX_SIDE = {"avatar": 512, "article": 2000, "cover": 2000, "product": 1600}
# Decided by the decoded content, never by the file name or the client's Content-Type.
FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp"), "GIF": ("png", "image/png")}

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def uploads_dir(data_dir: str | Path) -> Path:
    path = Path(data_dir) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_limited(stream: BinaryIO, limit: int = MAX_BYTES) -> bytes:
    """Read at most `limit` bytes; raises InvalidInput when the stream is larger."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(code="upload_too_large")
    if not data:
        raise InvalidInput(code="upload_empty")
    return data


def store_upload(
    session: Session,
    stream: BinaryIO,
    *,
    data_dir: str | Path,
    owner_id: int | None,
    purpose: str = "article",
    source_url: str | None = None,
) -> Upload:
    """Decode, check, shrink and re-encode an image, write it under a generated name, and record it.

    Raises InvalidInput (upload_too_large, upload_empty, upload_not_image, upload_too_many_pixels).
    """
    data = read_limited(stream)
    image, extension, content_type = _decode(data)
    image = _fit(image, MAX_SIDE.get(purpose, 2000))
    filename = f"{secrets.token_hex(16)}.{extension}"
    encoded = _encode(image, extension)
    (uploads_dir(data_dir) / filename).write_bytes(encoded)
    with atomic(session):
        upload = Upload(
            owner_id=owner_id,
            filename=filename,
            content_type=content_type,
            width=image.width,
            height=image.height,
            byte_size=len(encoded),
            purpose=purpose,
            source_url=source_url,
        )
        session.add(upload)
    return upload


def _decode(data: bytes) -> tuple[Image.Image, str, str]:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            if probe.width * probe.height > MAX_PIXELS:
                raise InvalidInput(code="upload_too_many_pixels")
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except InvalidInput:
        raise
    except Image.DecompressionBombError:
        raise InvalidInput(code="upload_too_many_pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidInput(code="upload_not_image") from None
    if kind not in FORMATS:
        raise InvalidInput(code="upload_not_image")
    extension, content_type = FORMATS[kind]
    image = ImageOps.exif_transpose(image)  # honour the camera's rotation before EXIF is dropped
    return image, extension, content_type


def _fit(image: Image.Image, max_side: int) -> Image.Image:
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side))
    return image


def _encode(image: Image.Image, extension: str) -> bytes:
    out = io.BytesIO()
    # Re-encoding writes only pixels: EXIF (GPS position, camera serial) and any trailing payload are gone.
    if extension == "jpg":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    elif extension == "webp":
        image.save(out, "WEBP", quality=85)
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True)
    return out.getvalue()


def get_upload(session: Session, upload_id: int) -> Upload:
    upload = session.get(Upload, upload_id)
    if upload is None:
        raise NotFound()
    return upload


def media_url(upload: Upload | None) -> str | None:
    return f"/media/{upload.filename}" if upload else None
