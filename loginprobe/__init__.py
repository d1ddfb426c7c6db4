"""loginprobe: drive real browsers through a site's login and explain why it ends in 401 Unauthorized.

The pipeline is the layout: config/ (what to run) -> flows/ (drive browsers, record evidence)
-> loginprobe.evidence (typed record) -> checks/ (findings) -> loginprobe.verdict -> reports/ (render).
"""

from __future__ import annotations

__version__ = "0.1.0"
