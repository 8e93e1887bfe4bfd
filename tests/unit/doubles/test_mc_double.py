"""The mc test double reads MC_HOST_<alias> the way mc's two regular expressions do (docs/mc.md)."""

from __future__ import annotations

import pytest

from tests.support.mc_double import Fatal, parse_host


@pytest.mark.parametrize(("value", "expected"), [
    ("http://AK:SK@127.0.0.1:9000", ("http", "AK", "SK", "", "127.0.0.1:9000")),
    # raw: no percent-decoding, the last '@' ends the credentials
    ("https://AK:s/+%41#? @x@host:1", ("https", "AK", "s/+%41#? @x", "", "host:1")),
    # a ':' in the secret or the access key shifts the split: the rest is read as a session token
    ("http://AK:se:cret@host", ("http", "AK", "se", "cret", "host")),
    ("http://A:K:SK@host", ("http", "A", "K", "SK", "host")),
])
def test_credentials_split_like_mc(value, expected):
    assert parse_host(value) == expected


@pytest.mark.parametrize("value", ["ftp://AK:SK@host", "http://host", "http://AK:SK@host/path",
                                   "http://AK:SK@host?x=1"])
def test_values_mc_refuses(value):
    with pytest.raises(Fatal):
        parse_host(value)
