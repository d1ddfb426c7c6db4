"""The proxy URL's password is a secret: redacted wherever the proxy URL is written (the verdict names it)."""

from __future__ import annotations

from loginprobe.config.settings import Settings, proxy_credentials
from loginprobe.secrets import Redactor

PROXY = "http://corp-user:c%40rp-pass-5@127.0.0.1:3128"


def test_the_proxy_password_is_among_the_secrets() -> None:
    assert proxy_credentials(PROXY) == ("corp-user", "c@rp-pass-5")
    assert "c@rp-pass-5" in Settings(proxy=PROXY).secrets()
    assert Settings(proxy="http://127.0.0.1:3128").secrets() == []


def test_a_sentence_naming_the_proxy_keeps_its_password_out() -> None:
    redactor = Redactor(Settings(proxy=PROXY).secrets())
    said = redactor.text(f"The proxy ({PROXY}) answered 407")
    assert "c%40rp-pass-5" not in said and "corp-user" in said
