"""Error pages: every failure renders a friendly bilingual page (or fragment), never a stack trace."""
from __future__ import annotations

from flask import Flask, Response, render_template
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from htmx_flask import request

from zhongcao.errors import DomainError, Forbidden, NotFound
from zhongcao.web import messages

STATUS_TEXT = {
    400: ("请求有误", "Bad request"),
    403: ("没有权限", "Forbidden"),
    404: ("页面不存在", "Page not found"),
    405: ("不支持的请求方式", "Method not allowed"),
    413: ("上传的文件太大", "Upload too large"),
    422: ("输入有误", "Invalid input"),
    429: ("操作太频繁，请稍后再试", "Too many requests, please slow down"),
    500: ("服务器出了点问题", "Something went wrong on our side"),
}


def render_error(status: int, detail: str = ""):
    zh, en = STATUS_TEXT.get(status, STATUS_TEXT[500])
    if request_ctx.url_adapter is None:
        # The request never got a URL adapter (e.g. an untrusted Host header): pages need url_for,
        # so answer in plain text rather than fail while reporting the failure.
        return Response(f"{status} {zh} · {en}\n", status=status, mimetype="text/plain")
    template = "partials/error_message.html" if request.htmx and not request.htmx.boosted else "error.html"
    return render_template(template, status=status, title_zh=zh, title_en=en, detail=detail), status


def install(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return render_error(400, messages.text("csrf"))

    @app.errorhandler(NotFound)
    def _domain_not_found(error: NotFound):
        return render_error(404, messages.describe(error))

    @app.errorhandler(Forbidden)
    def _domain_forbidden(error: Forbidden):
        return render_error(403, messages.describe(error))

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        return render_error(422, messages.describe(error))

    for status in (400, 403, 404, 405, 413, 429):
        app.register_error_handler(status, lambda error, status=status: render_error(status))

    @app.errorhandler(500)
    def _server(error):
        return render_error(500)
