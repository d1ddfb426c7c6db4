"""A login the site refused: a 401/403 to the form post, or the form again with its message (issue 10)."""

from __future__ import annotations

from datetime import timedelta

from loginprobe.checks.common import REFUSAL_WORDS, quote
from loginprobe.verdict import DIRECT, STATED
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import APP, T0, form_login, make_exchange, make_run, make_site, set_cookie

CSRF_PAGE = "Forbidden (403)\nCSRF verification failed. Request aborted."
LOGIN = f"{APP}/accounts/login/?next=/app/"
# As the recorder keeps it: the page's visible text, one line per block.
DJANGO_PAGE = (
    "Log in\nPlease enter a correct username and password. Note that both fields may be case-sensitive.\n"
    "Username:\nPassword:\nLog in"
)


def django_refusal(engine: str = "chromium", mode: str = "fresh") -> object:
    """Django's LoginView: the POST answers 200 with the form again; the app's API then says 401."""
    exchanges = [
        make_exchange(0, LOGIN, engine=engine, set_cookies=[set_cookie("csrftoken")]),  # type: ignore[arg-type]
        make_exchange(
            1,
            LOGIN,
            "POST",
            200,
            engine=engine,
            body=DJANGO_PAGE,
            date=T0 + timedelta(seconds=1),  # type: ignore[arg-type]
        ),
        make_exchange(2, f"{APP}/app/", engine=engine),  # type: ignore[arg-type]
        make_exchange(
            3,
            f"{APP}/api/me/",
            status=401,
            engine=engine,
            is_navigation=False,  # type: ignore[arg-type]
            cookies=[("csrftoken", "x")],
            body='{"detail": "Authentication credentials were not provided."}',
        ),
    ]
    return make_run(
        exchanges,
        engine=engine,
        mode=mode,
        start_url=LOGIN,
        protected_url=f"{APP}/api/me/",  # type: ignore[arg-type]
    )


def test_the_form_shown_again_with_its_message_is_invalid_credentials_with_high_confidence() -> None:
    runs = [django_refusal(e, m) for e in ("chromium", "firefox") for m in ("fresh", "persisted")]
    verdict = verdict_of(make_site(*runs))  # type: ignore[arg-type]
    assert verdict.primary == "invalid-credentials"
    assert verdict.confidence >= DIRECT
    assert '"Please enter a correct username and password."' in verdict.summary
    assert "showed the login form again" in verdict.summary
    assert "server-misconfiguration" not in verdict.contributing
    assert "missing-credentials" not in verdict.contributing


def test_a_401_to_the_form_post_with_its_words_is_stated() -> None:
    runs = [
        make_run(
            form_login(engine=e, login_status=401, account_challenges=[]),
            engine=e,  # type: ignore[arg-type]
        )
        for e in ("chromium", "firefox")
    ]
    runs = [
        r.model_copy(
            update={
                "exchanges": [
                    ex.model_copy(update={"body_excerpt": "Sign in\nInvalid username or password.\nSign in"})
                    if ex.method == "POST"
                    else ex
                    for ex in r.exchanges
                ]
            }
        )
        for r in runs
    ]
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "invalid-credentials"
    assert verdict.confidence == STATED
    assert '"Invalid username or password."' in verdict.summary
    assert verdict.contributing == []


def test_post_redirect_get_back_to_the_form_with_an_error() -> None:
    exchanges = [
        make_exchange(0, f"{APP}/login"),
        make_exchange(1, f"{APP}/login", "POST", 303, location=f"{APP}/login?error=1"),
        make_exchange(
            2, f"{APP}/login?error=1", redirected_from=1, body="Sign in\nWrong password, try again.\nSign in"
        ),
        make_exchange(3, f"{APP}/account", status=401),
    ]
    verdict = verdict_of(make_site(make_run(exchanges, start_url=f"{APP}/login")))
    assert verdict.primary == "invalid-credentials"
    assert verdict.confidence >= DIRECT
    assert '"Wrong password, try again."' in verdict.summary


def test_a_csrf_403_to_the_form_post_is_not_a_wrong_password() -> None:
    runs = [make_run(form_login(login_status=403, account_challenges=[]))]
    runs = [
        r.model_copy(
            update={
                "exchanges": [
                    ex.model_copy(
                        update={"body_excerpt": "Forbidden (403) CSRF verification failed. Request aborted."}
                    )
                    if ex.method == "POST"
                    else ex
                    for ex in r.exchanges
                ]
            }
        )
        for r in runs
    ]
    assert findings_of("invalid_credentials", make_site(*runs)) == []


def test_control_a_login_page_that_greets_is_not_a_refusal() -> None:
    # Control: the POST answers 200 with a page (no error words) and sets the session; the app works.
    exchanges = [
        make_exchange(0, f"{APP}/login"),
        make_exchange(1, f"{APP}/login", "POST", 200, set_cookies=[set_cookie()], body="Welcome back, alice"),
        make_exchange(2, f"{APP}/account", cookies=[("session", "x")]),
    ]
    verdict = verdict_of(make_site(make_run(exchanges, start_url=f"{APP}/login")))
    assert verdict.primary == "none"
    assert verdict.contributing == []


def test_quote_takes_the_sentence_that_refuses() -> None:
    text = "Sign in. Your account. The password you entered is incorrect! Forgot it?"
    assert quote(text, REFUSAL_WORDS) == "The password you entered is incorrect!"


FORM = "<h1>Sign in</h1><form method=post action=/dologin.html><input name=httpd_username></form>"


def wordless_form_again(*, cookie: bool = False, not_observable: tuple[str, ...] = ()) -> object:
    """Apache mod_auth_form with AuthFormLoginRequiredLocation: a wrong password 302s back to the
    stock form (no words), and the protected page 302s there too."""
    login = f"{APP}/login.html"
    exchanges = [
        make_exchange(0, login, body=FORM),
        make_exchange(
            1, f"{APP}/dologin.html", "POST", status=302, location=login,
            set_cookies=[set_cookie()] if cookie else [],
        ),
        make_exchange(2, login, status=200, redirected_from=1, body=FORM),
        make_exchange(3, f"{APP}/members/", status=302, location=login, date=T0 + timedelta(seconds=1)),
        make_exchange(4, login, status=200, redirected_from=3, body=FORM, date=T0 + timedelta(seconds=1)),
    ]  # fmt: skip
    run = make_run(exchanges, protected=3, success=False, protected_url=f"{APP}/members/", start_url=login)
    return run.model_copy(update={"not_observable": list(not_observable)})


def test_the_form_again_without_words_or_a_cookie_is_a_refused_login() -> None:
    verdict = verdict_of(make_site(wordless_form_again()))  # type: ignore[arg-type]
    assert verdict.primary == "invalid-credentials"
    assert verdict.confidence == 0.8
    assert "showed the login form again" in verdict.summary
    assert "without a message and without setting any cookie" in verdict.summary


def test_the_form_again_after_a_cookie_was_set_is_no_refused_login() -> None:
    ev = make_site(wordless_form_again(cookie=True))  # type: ignore[arg-type]
    assert findings_of("invalid_credentials", ev) == []


def test_an_engine_that_cannot_show_set_cookie_proves_no_refusal() -> None:
    ev = make_site(wordless_form_again(not_observable=("set_cookies",)))  # type: ignore[arg-type]
    assert findings_of("invalid_credentials", ev) == []
