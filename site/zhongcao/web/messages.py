"""Turn domain error codes into user-facing text: zh-CN first, English second."""
from __future__ import annotations

from zhongcao.errors import DomainError

# Each domain keeps its own section; the key is the error's stable `code`.
GENERAL = {
    "domain_error": ("操作未能完成", "The action could not be completed"),
    "not_found": ("找不到该内容", "Not found"),
    "forbidden": ("你没有权限这样做", "You are not allowed to do that"),
    "invalid_input": ("输入有误", "Invalid input"),
    "conflict": ("内容已被占用", "Already taken"),
    "rate_limited": ("操作太频繁，请稍后再试", "Too many attempts, please try again later"),
    "csrf": ("页面已过期，请刷新后重试", "This page expired; reload and try again"),
}

ACCOUNTS: dict[str, tuple[str, str]] = {
    "email_invalid": ("邮箱格式不正确", "That email address is not valid"),
    "email_taken": ("该邮箱已注册", "That email is already registered"),
    "handle_invalid": ("用户名需为 3–30 位字母、数字或下划线，并以字母开头", "Handles are 3–30 letters, digits or underscores, starting with a letter"),
    "handle_reserved": ("该用户名为保留字", "That handle is reserved"),
    "handle_taken": ("该用户名已被占用", "That handle is taken"),
    "password_too_short": ("密码至少 12 个字符", "Passwords need at least 12 characters"),
    "password_too_long": ("密码最多 128 个字符", "Passwords can have at most 128 characters"),
    "password_too_common": ("这个密码太常见了，请换一个", "That password is too common; choose another"),
    "password_wrong": ("当前密码不正确", "The current password is not correct"),
    "sign_in_failed": ("邮箱或密码不正确", "Wrong email or password"),
    "display_name_required": ("请填写昵称", "Please enter a display name"),
    "pitch_too_short": ("请至少用 10 个字介绍你自己和你的内容", "Tell us about you and your content in at least 10 characters"),
    "already_creator": ("你已经是达人了", "You are already a creator"),
    "application_pending": ("你的申请正在审核中", "Your application is being reviewed"),
    "application_decided": ("该申请已处理", "That application was already decided"),
}
CATALOG: dict[str, tuple[str, str]] = {}
ARTICLES: dict[str, tuple[str, str]] = {}
SOCIAL: dict[str, tuple[str, str]] = {}
MEDIA: dict[str, tuple[str, str]] = {
    "upload_too_large": ("图片不能超过 8 MB", "Images can be at most 8 MB"),
    "upload_empty": ("文件是空的", "The file is empty"),
    "upload_not_image": ("只能上传 JPEG、PNG、WebP 或 GIF 图片", "Only JPEG, PNG, WebP or GIF images"),
    "upload_too_many_pixels": ("图片尺寸过大", "The image has too many pixels"),
}
IMPORT: dict[str, tuple[str, str]] = {}

MESSAGES: dict[str, tuple[str, str]] = {}
for _section in (GENERAL, ACCOUNTS, CATALOG, ARTICLES, SOCIAL, MEDIA, IMPORT):
    MESSAGES.update(_section)


def text(code: str) -> str:
    """The bilingual message for a code, "中文 · English"."""
    zh, en = MESSAGES.get(code, MESSAGES["domain_error"])
    return f"{zh} · {en}"


def describe(error: DomainError) -> str:
    """The bilingual message for a domain error, with the error's own detail appended when it has one."""
    base = text(error.code)
    return f"{base}：{error.detail}" if error.detail and error.detail != error.code else base
