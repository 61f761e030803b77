"""Production refuses settings that would lose money or trust."""
from __future__ import annotations

import pytest

from zhongcao import create_app


def test_production_refuses_stripe_without_its_keys(tmp_path):
    settings = {
        "ENV": "production",
        "SECRET_KEY": "a-long-random-production-secret-0123456789",
        "SITE_URL": "https://zhongcao.example",
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
        "DATA_DIR": str(tmp_path),
        "PAYMENT_PROVIDER": "stripe",
    }

    with pytest.raises(RuntimeError, match="STRIPE"):
        create_app(settings)
