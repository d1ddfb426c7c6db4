"""The pytest plugin finds its config as `loginprobe check` does, plus an ini key; without one, a named
site fails its test with one line. Black-box: pytester writes the project and runs pytest on it."""

from __future__ import annotations

import os

import pytest

# What a test sees of the discovered config: the names of its sites.
NAMES_TEST = """
def test_sites(loginprobe_settings):
    print("SITES=" + ",".join(s.name for s in loginprobe_settings.sites))
"""

# In-process runs leave pytest-playwright out: a second copy of it in one process refuses to nest its
# soft-assertion scope, and reading settings needs no browser.
NO_PLAYWRIGHT = ("-p", "no:playwright", "-p", "no:cacheprovider")


def _site(name: str) -> str:
    return f'[[sites]]\nname = "{name}"\nurl = "http://127.0.0.1:9/login"\nflow = "form"\n'


def _sites_seen(pytester: pytest.Pytester, *args: str) -> str:
    # In-process: no browser is involved, and a subprocess per case would cost a Playwright import each.
    result = pytester.runpytest_inprocess("-s", *NO_PLAYWRIGHT, *args)
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    return next(line for line in result.stdout.lines if "SITES=" in line).split("SITES=", 1)[1]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project folder with one test; no LOGINPROBE_* variable of this machine leaks in."""
    for name in [n for n in os.environ if n.startswith("LOGINPROBE_")]:
        monkeypatch.delenv(name)
    pytester.makepyfile(test_names=NAMES_TEST)
    return pytester


def test_pyproject_table_is_found_without_flags(project: pytest.Pytester) -> None:
    # Given a pyproject.toml with a [tool.loginprobe] table (and its own pytest settings)
    body = _site("from-pyproject").replace("[[sites]]", "[[tool.loginprobe.sites]]")
    project.makefile(".toml", pyproject=f"[tool.pytest.ini_options]\naddopts = ''\n\n{body}")
    # Then plain `pytest` reads it
    assert _sites_seen(project) == "from-pyproject"


def test_loginprobe_toml_beats_pyproject(project: pytest.Pytester) -> None:
    body = _site("from-pyproject").replace("[[sites]]", "[[tool.loginprobe.sites]]")
    project.makefile(".toml", pyproject=body, loginprobe=_site("from-loginprobe-toml"))
    assert _sites_seen(project) == "from-loginprobe-toml"


def test_ini_key_beats_discovery_and_the_option_beats_the_ini_key(project: pytest.Pytester) -> None:
    # Given a loginprobe.toml, a config elsewhere named by the ini key, and a third one
    project.makefile(".toml", loginprobe=_site("discovered"))
    (project.path / "ci").mkdir()
    (project.path / "ci" / "probe.toml").write_text(_site("from-ini"), encoding="utf-8")
    (project.path / "other.toml").write_text(_site("from-option"), encoding="utf-8")
    project.makeini("[pytest]\nloginprobe_config = ci/probe.toml\n")
    # Then the ini key (relative to the ini file) wins over discovery, and the option over both
    assert _sites_seen(project) == "from-ini"
    assert _sites_seen(project, "--loginprobe-config", "other.toml") == "from-option"


def test_a_broken_config_is_one_line(project: pytest.Pytester) -> None:
    # Given a loginprobe.toml that is not TOML
    project.makefile(".toml", loginprobe="[[sites]\nname = ")
    result = project.runpytest_inprocess(*NO_PLAYWRIGHT)
    # Then the test errors with loginprobe's one line, not a traceback of the plugin
    text = result.stdout.str()
    result.assert_outcomes(errors=1)
    assert "\nloginprobe: config: " in text and "loginprobe.toml is not valid TOML" in text, text
    assert "Traceback" not in text and "pytest_plugin.py" not in text and "During handling" not in text, text


@pytest.mark.browser
def test_a_site_name_without_any_config_is_one_line(project: pytest.Pytester) -> None:
    # Given no config anywhere and a test that names a site
    project.makepyfile(test_login="def test_login(login_probe):\n    login_probe('shop').assert_ok()\n")
    result = project.runpytest_subprocess("test_login.py", "--browser", "chromium", "-p", "no:cacheprovider")
    # Then it fails with one line that says where a config is looked for, and no browser starts
    text = result.stdout.str()
    result.assert_outcomes(failed=1)
    line = "loginprobe: no site named 'shop'; no config found (--loginprobe-config, ini loginprobe_config"
    assert line in text, text
    failure = text.split("test_login[chromium] _", 1)[1].split("short test summary", 1)[0]
    assert len([row for row in failure.splitlines() if row.strip() and not row.startswith("=")]) <= 2, failure
    assert "Traceback" not in text and "def run(" not in text, text
