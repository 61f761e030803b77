"""Creator storefronts (/@handle) and following: the follow button works with htmx and as a plain form.

Readers who are not creators get a plain profile page at /@handle (no picks, no follow button,
not indexed), so every handle a header link points at resolves.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from htmx_flask import make_response, request

from zhongcao import db_session
from zhongcao.errors import DomainError
from zhongcao.social import services as social
from zhongcao.social.listings import Cursor
from zhongcao.social.storefront import get_profile, load_storefront
from zhongcao.web import messages, page_cache
from zhongcao.web.auth import current_user_id
from zhongcao.web.security import safe_next

bp = Blueprint("creators", __name__)

FOLLOW_BUTTON = "follow-button"
FOLLOWER_COUNT = "follower-count"
STOREFRONT_FRESH_SECONDS = 60


@bp.get("/@<handle>")
def show_storefront(handle: str):
    session = db_session()
    user = get_profile(session, handle)
    if user.handle != handle:
        query = {key: value for key, value in request.args.items() if key != "handle"}
        return redirect(url_for("creators.show_storefront", handle=user.handle, **query), code=301)
    if request.htmx.target == FOLLOWER_COUNT and not request.htmx.history_restore_request:
        count = social.follower_count(session, user.id)
        return render_template("creators/partials/follower_count.html", creator=user, follower_count=count)

    def render() -> str:
        page = load_storefront(
            session, user=user, viewer_id=current_user_id(), before=Cursor.parse(request.args.get("before"))
        )
        template = "creators/storefront.html" if user.is_creator else "creators/profile.html"
        return render_template(template, page=page, creator=user, following=page.is_following)

    # Anonymous visitors share one rendering (~5 ms to render): articles, picks and followers show at
    # once (content version), badges earned by sales within a minute. Signed-in readers get their own.
    return page_cache.cached_page(render, fresh_for=STOREFRONT_FRESH_SECONDS)


@bp.post("/@<handle>/follow")
def follow_creator(handle: str):
    return _change_following(handle, follow=True)


@bp.post("/@<handle>/unfollow")
def unfollow_creator(handle: str):
    return _change_following(handle, follow=False)


@bp.app_template_global("follows_creator")
def follows_creator(creator) -> bool:
    """Whether the signed-in reader follows `creator`, for pages that include the follow button
    without passing `following` (the article page)."""
    return social.is_following(db_session(), follower_id=current_user_id(), creator_id=creator.id)


def _follow_button_state(creator, **_context) -> dict[str, bool]:
    reader_id = current_user_id()
    return {"following": follows_creator(creator), "own_profile": reader_id is not None and reader_id == creator.id}


# Readers who follow the creator (or not) alike share one rendering of the button.
page_cache.register_part("creators/partials/follow_button.html", state=_follow_button_state)


def _change_following(handle: str, *, follow: bool):
    session = db_session()
    creator = get_profile(session, handle)
    back = safe_next(request.form.get("next"), url_for("creators.show_storefront", handle=creator.handle))
    wants_fragment = request.htmx.target == FOLLOW_BUTTON
    if not current_user.is_authenticated:
        sign_in = url_for("accounts.sign_in", next=back)
        if request.htmx:
            return make_response("", 401, redirect=sign_in)
        return redirect(sign_in, code=303)
    error = None
    try:
        change = social.follow if follow else social.unfollow
        change(session, follower_id=current_user.id, creator_id=creator.id)
    except DomainError as failure:
        error = messages.describe(failure)
    if not wants_fragment:
        if error:
            flash(error, "error")
        return redirect(back, code=303)
    html = render_template(
        "creators/partials/follow_button.html",
        creator=creator,
        following=social.is_following(session, follower_id=current_user.id, creator_id=creator.id),
        next_path=back,
        follow_error=error,
    )
    return (html, 422) if error else make_response(html, trigger="follow-changed")
