"""Flask-WTF forms: shape checks only (required, lengths, numbers). Business rules live in domain functions."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

REQUIRED = "必填 · Required"


class SignUpForm(FlaskForm):
    email = StringField("邮箱 Email", validators=[DataRequired(REQUIRED), Length(max=254)])
    handle = StringField(
        "用户名 Handle",
        validators=[DataRequired(REQUIRED), Length(max=31)],
        description="你的主页地址 /@用户名 · Your page will be /@handle",
    )
    display_name = StringField("昵称 Display name", validators=[Optional(), Length(max=60)])
    password = PasswordField(
        "密码 Password",
        validators=[DataRequired(REQUIRED), Length(max=1024)],
        description="12–128 个字符，任何文字都可以 · 12–128 characters, any script",
    )


class SignInForm(FlaskForm):
    email = StringField("邮箱 Email", validators=[DataRequired(REQUIRED), Length(max=254)])
    password = PasswordField("密码 Password", validators=[DataRequired(REQUIRED), Length(max=1024)])
    next = HiddenField()


class ProfileForm(FlaskForm):
    display_name = StringField("昵称 Display name", validators=[DataRequired(REQUIRED), Length(max=60)])
    bio = TextAreaField("简介 Bio", validators=[Optional(), Length(max=1000)])
    avatar = FileField(
        "头像 Avatar",
        validators=[FileAllowed(["jpg", "jpeg", "png", "webp", "gif"], "只能上传图片 · Images only")],
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("当前密码 Current password", validators=[DataRequired(REQUIRED), Length(max=1024)])
    new_password = PasswordField("新密码 New password", validators=[DataRequired(REQUIRED), Length(max=1024)])


class CreatorApplicationForm(FlaskForm):
    pitch = TextAreaField(
        "介绍你自己 About you",
        validators=[DataRequired(REQUIRED), Length(max=2000)],
        description="你擅长测评什么？在哪里发过内容？ · What do you review, and where have you published?",
    )


class DecisionForm(FlaskForm):
    decision = HiddenField(validators=[DataRequired()])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that post."""
