"""Storing uploads: decoded and re-encoded by Pillow, EXIF dropped, non-images and bombs refused."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.media.images import has_gps, photo_with_gps, png_claiming
from zhongcao.errors import InvalidInput
from zhongcao.media.services import MAX_BYTES, store_upload


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.mark.parametrize(("kind", "extension", "content_type"), [("JPEG", "jpg", "image/jpeg"), ("PNG", "png", "image/png")])
def test_a_photo_is_stored_re_encoded_without_its_exif(session, make_user, data_dir, kind, extension, content_type):
    owner = make_user()
    original = photo_with_gps(kind)
    assert has_gps(original)

    upload = store_upload(session, io.BytesIO(original), data_dir=data_dir, owner_id=owner.id, purpose="avatar")

    stored = (data_dir / "uploads" / upload.filename).read_bytes()
    assert upload.filename.endswith("." + extension) and upload.content_type == content_type
    assert len(Image.open(io.BytesIO(stored)).getexif()) == 0
    assert b"TestCam" not in stored
    assert (upload.width, upload.height, upload.owner_id) == (64, 48, owner.id)


def test_a_large_avatar_is_shrunk(session, data_dir):
    upload = store_upload(session, io.BytesIO(photo_with_gps("PNG", size=(1600, 800))), data_dir=data_dir, owner_id=None, purpose="avatar")

    assert (upload.width, upload.height) == (512, 256)


def test_the_stored_name_is_generated_not_the_clients(session, data_dir):
    upload = store_upload(session, io.BytesIO(photo_with_gps()), data_dir=data_dir, owner_id=None)

    stem, _, _ = upload.filename.partition(".")
    assert len(stem) == 32 and all(ch in "0123456789abcdef" for ch in stem)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"just some text, renamed to look like a .png\n", "upload_not_image"),
        (b"\x89PNG\r\n\x1a\n" + b"truncated", "upload_not_image"),
        (b"", "upload_empty"),
        (png_claiming(20000, 20000), "upload_too_many_pixels"),
        (png_claiming(8000, 6000), "upload_too_many_pixels"),
        (b"\xff" * (MAX_BYTES + 1), "upload_too_large"),
    ],
    ids=["text", "truncated-png", "empty", "bomb-20000px", "bomb-48mpx", "too-large"],
)
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_bad_uploads_are_refused_with_a_clear_code(session, data_dir, data, code):
    with pytest.raises(InvalidInput) as refused:
        store_upload(session, io.BytesIO(data), data_dir=data_dir, owner_id=None)

    assert refused.value.code == code
    assert not (data_dir / "uploads").exists() or list((data_dir / "uploads").iterdir()) == []
