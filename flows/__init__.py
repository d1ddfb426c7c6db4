"""Login flows and the runner that drives browsers through them while the recorder captures evidence."""

from __future__ import annotations

# Importing the flow modules registers them.
from loginprobe.flows import form, http_auth, oidc, token, visit  # noqa: F401
from loginprobe.flows.base import Flow, FlowFailed, flow_for

__all__ = ["Flow", "FlowFailed", "flow_for"]
