"""Errors of the tool itself, kept apart from what the target did wrong.

A failing login is not an exception: it is data (an `Outcome` in the evidence, `Finding`s in the
verdict). Exceptions here mean loginprobe could not do its job, and each carries the exit code the
CLI returns for it::

    LoginprobeError                 base; caught once at the CLI edge, printed as one line
    ├── ConfigError          (2)    bad flag, bad config file, bad value, missing secret
    ├── BrowserUnavailable   (3)    an engine cannot be found or launched
    ├── TargetUnreachable    (3)    the site cannot be reached at all (DNS, refused, TLS)
    └── OutputError          (3)    the report folder cannot be written
"""

from __future__ import annotations


class LoginprobeError(Exception):
    """Base of every error loginprobe raises about itself."""

    exit_code = 3

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(LoginprobeError):
    """The command line, a config file or the environment holds an invalid value."""

    exit_code = 2


class BrowserUnavailable(LoginprobeError):
    """An engine is not installed, or failed to launch."""


class TargetUnreachable(LoginprobeError):
    """The site did not answer at all, so there is no 401 to explain."""


class OutputError(LoginprobeError):
    """The report folder could not be created or written."""
