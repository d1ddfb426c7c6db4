"""Usage and config errors: exit 2, one line on stderr naming the field, never a traceback.

Each case runs the real `loginprobe` console script; all of them start at once (a module fixture),
since each is a short process start and nothing here reaches a browser.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.faults.servers import CliResult, cli_env, run_cli

# name -> (TOML file content or None, extra arguments, the one line expected on stderr)
CASES: dict[str, tuple[str | None, list[str], str]] = {
    "bad-toml": (
        '[[sites]\nname = "a"\n',
        [],
        "--config: {config} is not valid TOML: Expected ']]' at the end of an array declaration "
        "(at line 1, column 8)",
    ),
    "unknown-field": (
        '[[sites]]\nname = "a"\nurl = "http://127.0.0.1/"\ncolour = "red"\n',
        [],
        "invalid setting sites.0.colour: Extra inputs are not permitted (got 'red')",
    ),
    "unknown-top-level-field": (
        "retries = 3\n",
        [],
        "invalid setting retries: Extra inputs are not permitted (got 3)",
    ),
    "invalid-value": (
        'workers = "many"\n',
        ["--url", "http://127.0.0.1/"],
        "invalid setting workers: Input should be a valid integer, unable to parse string as an integer "
        "(got 'many')",
    ),
    "invalid-url": (
        '[[sites]]\nname = "a"\nurl = "ftp://files/"\n',
        [],
        "invalid setting sites.0.url: 'ftp://files/' is not an http(s) URL",
    ),
    "missing-password-env": (
        '[[sites]]\nname = "a"\nurl = "http://127.0.0.1/"\n[sites.credentials]\nusername = "u"\n'
        'password_env = "LOGINPROBE_TEST_UNSET_PASSWORD"\n',
        [],
        "invalid setting sites.0.credentials: password_env names the environment variable "
        "'LOGINPROBE_TEST_UNSET_PASSWORD', which is not set (nor in .env)",
    ),
    "missing-password-env-flag": (
        None,
        ["--url", "http://127.0.0.1/", "--password-env", "LOGINPROBE_TEST_UNSET_PASSWORD"],
        "invalid setting sites.0.credentials: password_env names the environment variable "
        "'LOGINPROBE_TEST_UNSET_PASSWORD', which is not set (nor in .env)",
    ),
    "bad-browser": (
        None,
        ["--url", "http://127.0.0.1/", "-b", "netscape"],
        "invalid setting browsers.0: Input should be 'chromium', 'firefox' or 'webkit' (got 'netscape')",
    ),
    "bad-shard": (
        None,
        ["--url", "http://127.0.0.1/", "--shard", "3/2"],
        "invalid setting shard: '3/2' is not i/n with 1 <= i <= n",
    ),
    "bad-executable-engine": (
        None,
        ["--url", "http://127.0.0.1/", "--executable", "chrome=/usr/bin/chromium"],
        "--executable: expected ENGINE=VALUE with ENGINE one of chromium, firefox, webkit, "
        "got 'chrome=/usr/bin/chromium'",
    ),
    "config-not-a-file": (
        None,
        ["-c", "nowhere.toml"],
        "--config: 'nowhere.toml' is not a file",
    ),
    "flow-without-url": (
        None,
        ["--flow", "form"],
        "--flow, --protected-url and the credential flags describe a site: give --url too",
    ),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def results(folder: Path) -> dict[str, CliResult]:
    """Every case's result; the environment is the clean one of a user without LOGINPROBE_* set."""
    env = cli_env(COLUMNS="80")  # rich wraps at 80 columns: a one-line message must not wrap

    def one(name: str) -> CliResult:
        content, extra, _ = CASES[name]
        args = ["check", "-o", str(folder / name / "reports"), *extra]
        if content is not None:
            (folder / f"{name}.toml").write_text(content, encoding="utf-8")
            args += ["-c", f"{name}.toml"]
        return run_cli(*args, cwd=folder, env=env)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(CASES, pool.map(one, CASES), strict=True))


@pytest.mark.parametrize("name", CASES)
def test_config_error_is_one_line_exit_2(name: str, results: dict[str, CliResult], folder: Path) -> None:
    result = results[name]
    expected = CASES[name][2].format(config=f"{name}.toml")

    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.lines == [f"loginprobe: ConfigError: {expected}"]
    assert result.stdout == ""
    assert not (folder / name).exists()  # settings are checked before anything is written
