"""Flask extensions, created unbound here and bound to the app in create_app()."""
from __future__ import annotations

from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf import CSRFProtect
from htmx_flask import Htmx

from zhongcao.web.client import client_address

htmx = Htmx()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=client_address, default_limits=[], headers_enabled=False)
