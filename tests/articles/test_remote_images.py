"""Remote image fetching refuses anything but public http(s) hosts, before any connection is made."""
from __future__ import annotations

import socket

import pytest
from sqlalchemy import func
from sqlmodel import select

from zhongcao.articles.remote_images import RemoteImageFetcher, RemoteImageRefused, checked_address, is_public_address
from zhongcao.media.models import Upload


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
     "224.0.0.1", "::1", "::", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::",
     "64:ff9b::7f00:1", "not-an-ip"],
)
def test_internal_addresses_are_not_public(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_global_addresses_are_public(address):
    assert is_public_address(address)


def _resolver(*addresses):
    # DNS is an edge we do not own: answer with fixed addresses instead of asking the network.
    def resolve(host, port, family=0, type=0):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolve


def test_a_host_with_any_internal_answer_is_refused():
    with pytest.raises(RemoteImageRefused):
        checked_address("https://cdn.example/x.png", _resolver("93.184.216.34", "10.0.0.5"))


def test_a_host_with_only_public_answers_is_pinned_to_a_checked_address():
    assert checked_address("https://cdn.example:8443/x.png", _resolver("93.184.216.34")) == ("cdn.example", 8443, "93.184.216.34")


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/a.png", "file:///etc/passwd", "gopher://example.com/", "http:///nohost.png",
     "http://127.0.0.1/a.png", "http://localhost:5000/a.png", "http://[::1]/a.png", "http://169.254.169.254/latest",
     "http://2130706433/a.png", "http://0x7f.1/a.png", "http://10.0.0.1/a.png", "https://[::ffff:127.0.0.1]/a.png"],
)
def test_the_fetcher_refuses_unsafe_urls_without_storing_anything(session, tmp_path, url):
    fetcher = RemoteImageFetcher(session, data_dir=tmp_path, owner_id=None)

    assert fetcher(url) is None
    assert session.exec(select(func.count(Upload.id))).one() == 0
