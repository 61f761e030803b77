"""Who is asking: the client address, trusting X-Forwarded-For only behind a configured proxy."""
from __future__ import annotations

from flask import current_app, request


def client_address() -> str:
    """The client's IP: the socket peer, or the Nth-from-last X-Forwarded-For hop behind N proxies."""
    proxies = int(current_app.config.get("PROXY_COUNT", 0) or 0)
    if proxies > 0:
        hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.remote_addr or "unknown"
