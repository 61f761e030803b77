"""Sign-up, sign-in, sessions ending everywhere, cookies, password reset, avatars, and applying to be a creator."""
from __future__ import annotations

import io
import re

import pytest
from sqlmodel import select

from tests.conftest import TEST_PASSWORD
from tests.media.images import photo_with_gps, png_claiming
from zhongcao import create_app
from zhongcao.accounts import services as accounts
from zhongcao.accounts.models import User
from zhongcao.media.models import Upload

NEW_PASSWORD = "新的密码要足够长才安全呀朋友"


def _sign_in(client, email, password=TEST_PASSWORD, **extra):
    return client.post("/signin", data={"email": email, "password": password, **extra})


def _signed_in_as(client) -> str | None:
    """The handle the header shows for this client, or None when it is anonymous."""
    page = client.get("/settings")
    if page.status_code != 200:
        return None
    match = re.search(r'href="/@([A-Za-z0-9_]+)"', page.get_data(as_text=True))
    return match.group(1) if match else None


def test_signing_up_creates_the_account_and_signs_in(client, session):
    response = client.post(
        "/signup", data={"email": "Mei@Example.com", "handle": "MeiMei", "password": "种草达人的第一个长长的密码呀"}
    )

    assert response.status_code == 303
    user = session.exec(select(User)).one()
    assert (user.email, user.handle, user.handle_key) == ("mei@example.com", "MeiMei", "meimei")
    assert user.password_hash.startswith("$argon2id$")
    assert _signed_in_as(client) == "MeiMei"


def test_signing_up_with_a_short_password_re_renders_the_form_with_the_rule(client, session):
    response = client.post("/signup", data={"email": "a@example.com", "handle": "someone", "password": "short"})

    assert response.status_code == 422
    assert "密码至少 12 个字符" in response.get_data(as_text=True)
    assert session.exec(select(User)).all() == []


def test_unknown_email_and_wrong_password_show_the_same_message(client, make_user):
    user = make_user()

    unknown = _sign_in(client, "nobody@example.com")
    wrong = _sign_in(client, user.email, password="not-the-right-password")

    assert unknown.status_code == wrong.status_code == 422
    for response in (unknown, wrong):
        assert "邮箱或密码不正确 · Wrong email or password" in response.get_data(as_text=True)
    assert "nobody@example.com" in unknown.get_data(as_text=True)  # the email stays in the form


def test_signing_in_starts_a_session(client, make_user):
    user = make_user()

    response = _sign_in(client, user.email.upper())

    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert _signed_in_as(client) == user.handle


def test_signing_out_ends_a_copied_session_cookie(app, client, make_user, sign_in_as):
    user = make_user()
    sign_in_as(client, user)
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    assert _signed_in_as(thief) == user.handle

    client.post("/signout")

    assert _signed_in_as(client) is None
    assert _signed_in_as(thief) is None


def test_changing_the_password_ends_other_sessions_but_keeps_this_one(app, client, make_user, sign_in_as):
    user = make_user()
    sign_in_as(client, user)
    laptop = app.test_client()
    sign_in_as(laptop, user)

    response = client.post("/settings/password", data={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD})

    assert response.status_code == 303
    assert _signed_in_as(client) == user.handle
    assert _signed_in_as(laptop) is None


def test_changing_the_password_with_a_wrong_current_one_is_refused(client, make_user, sign_in_as):
    user = make_user()
    sign_in_as(client, user)

    response = client.post("/settings/password", data={"current_password": "wrong-password-here", "new_password": NEW_PASSWORD})

    assert response.status_code == 422
    assert "当前密码不正确" in response.get_data(as_text=True)


def test_the_session_cookie_is_http_only_and_same_site_lax(client, make_user):
    user = make_user()

    response = _sign_in(client, user.email)

    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


@pytest.fixture
def production_app(database_url, tmp_path):
    application = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": "a-long-random-production-secret-0123456789",
            "DATABASE_URL": database_url,
            "DATA_DIR": str(tmp_path / "data"),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "MAIL_BACKEND": "memory",
            "SITE_URL": "https://zhongcao.example",
        }
    )
    yield application
    application.extensions["zhongcao.engine"].dispose()


def test_in_production_the_session_cookie_is_also_secure(production_app, make_user):
    user = make_user()

    # Production trusts only SITE_URL's host, so the client speaks to that host.
    response = production_app.test_client().post(
        "/signin", data={"email": user.email, "password": TEST_PASSWORD}, headers={"Host": "zhongcao.example"}
    )

    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_refuses_to_start_without_a_site_url(database_url, tmp_path):
    # Reset links are built from SITE_URL; without it they would have to trust the Host header.
    settings = {
        "ENV": "production",
        "SECRET_KEY": "a-long-random-production-secret-0123456789",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / "data"),
    }

    with pytest.raises(RuntimeError, match="SITE_URL"):
        create_app(settings)


def test_in_production_a_foreign_host_header_is_refused_and_links_use_the_site_url(production_app, make_user):
    from zhongcao import mail

    user = make_user()
    client = production_app.test_client()

    foreign = client.post("/password/forgot", data={"email": user.email}, headers={"Host": "evil.example"})
    own = client.post("/password/forgot", data={"email": user.email}, headers={"Host": "zhongcao.example"})

    assert foreign.status_code == 400
    assert own.status_code == 200
    (message,) = mail.outbox(production_app)
    assert "https://zhongcao.example/password/reset/" in message.body
    assert "evil.example" not in message.body


def _reset_link(outbox) -> str:
    (message,) = outbox
    return re.search(r"http://localhost(/password/reset/\S+)", message.body).group(1)


def test_forgot_password_answers_the_same_for_known_and_unknown_emails(client, make_user, outbox):
    user = make_user()

    known = client.post("/password/forgot", data={"email": user.email})
    unknown = client.post("/password/forgot", data={"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    assert [message.to for message in outbox] == [user.email]
    assert "1 小时内有效" in outbox[0].body and "/password/reset/" in outbox[0].body


@pytest.mark.parametrize("app_overrides", [{"SITE_URL": "https://zhongcao.example"}])
def test_the_reset_link_uses_the_site_url_whatever_host_the_request_named(client, make_user, outbox):
    user = make_user()

    client.post("/password/forgot", data={"email": user.email}, headers={"Host": "evil.example"})

    assert "https://zhongcao.example/password/reset/" in outbox[0].body
    assert "evil.example" not in outbox[0].body


def test_resetting_the_password_signs_in_and_ends_every_other_session(app, client, make_user, sign_in_as, outbox):
    user = make_user()
    old_device = app.test_client()
    sign_in_as(old_device, user)
    client.post("/password/forgot", data={"email": user.email})
    link = _reset_link(outbox)

    form = client.get(link)
    response = client.post(link, data={"new_password": NEW_PASSWORD})

    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "no-referrer" and form.headers["Cache-Control"] == "no-store"
    assert response.status_code == 303
    assert _signed_in_as(client) == user.handle
    assert _signed_in_as(old_device) is None
    assert _sign_in(app.test_client(), user.email, password=NEW_PASSWORD).status_code == 303


def test_a_reset_link_works_only_once(client, make_user, outbox):
    user = make_user()
    client.post("/password/forgot", data={"email": user.email})
    link = _reset_link(outbox)
    client.post(link, data={"new_password": NEW_PASSWORD})

    again = client.post(link, data={"new_password": "再来一次的密码也足够长了"})

    assert again.status_code == 400
    assert "重置链接无效、已使用或已过期" in again.get_data(as_text=True)


def test_a_made_up_reset_link_is_a_friendly_400(client):
    response = client.get("/password/reset/not-a-real-token")

    assert response.status_code == 400
    assert "Send a new link" in response.get_data(as_text=True)


def test_a_weak_password_on_the_reset_page_shows_the_rule(client, make_user, outbox):
    user = make_user()
    client.post("/password/forgot", data={"email": user.email})

    response = client.post(_reset_link(outbox), data={"new_password": "123456789012"})

    assert response.status_code == 422
    assert "这个密码太常见了" in response.get_data(as_text=True)


def _post_avatar(client, data: bytes, filename: str):
    return client.post(
        "/settings",
        data={"display_name": "美美", "bio": "", "avatar": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def test_an_avatar_photo_is_stored_without_its_gps_position_and_served_as_an_image(client, session, make_user, sign_in_as):
    user = make_user()
    sign_in_as(client, user)

    response = _post_avatar(client, photo_with_gps("JPEG"), "me.jpg")

    assert response.status_code == 303
    session.refresh(user)
    upload = session.get(Upload, user.avatar_id)
    served = client.get(f"/media/{upload.filename}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert b"TestCam" not in served.data and b"Exif" not in served.data


def test_a_text_file_named_png_is_refused_with_a_clear_message(client, session, make_user, sign_in_as):
    user = make_user()
    sign_in_as(client, user)

    response = _post_avatar(client, b"<?php echo 'not an image'; ?>", "avatar.png")

    assert response.status_code == 422
    assert "只能上传 JPEG、PNG、WebP 或 GIF 图片" in response.get_data(as_text=True)
    session.refresh(user)
    assert user.avatar_id is None


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_decompression_bomb_avatar_is_refused_not_a_500(client, make_user, sign_in_as):
    sign_in_as(client, make_user())

    response = _post_avatar(client, png_claiming(20000, 20000), "bomb.png")

    assert response.status_code == 422
    assert "图片尺寸过大" in response.get_data(as_text=True)


def test_a_reader_applies_an_admin_approves_and_the_reader_is_a_creator(app, client, session, make_user, sign_in_as):
    reader, admin = make_user(), make_user(is_admin=True)
    sign_in_as(client, reader)
    applied = client.post("/settings/creator-application", data={"pitch": "我写了三年护肤测评，想在种草分享"})
    waiting = client.get("/settings").get_data(as_text=True)
    admin_client = app.test_client()
    sign_in_as(admin_client, admin)
    (application, _), = accounts.list_pending_applications(session)

    approved = admin_client.post(f"/admin/applications/{application.id}", data={"decision": "approve"})

    assert applied.status_code == 303 and "你的申请正在审核中" in waiting
    assert approved.status_code == 303
    session.rollback()  # end the test session's read snapshot so it sees the app's write
    assert accounts.get_user(session, reader.id).is_creator
    settings = client.get("/settings").get_data(as_text=True)
    assert "你已经是达人" in settings and 'href="/write"' in settings


def test_a_second_application_while_one_is_pending_is_refused(client, session, make_user, sign_in_as):
    reader = make_user()
    sign_in_as(client, reader)
    client.post("/settings/creator-application", data={"pitch": "我写了三年护肤测评，想在种草分享"})

    again = client.post("/settings/creator-application", data={"pitch": "再申请一次可以吗？我很认真的"})

    assert again.status_code == 422
    assert "你的申请正在审核中" in again.get_data(as_text=True)
