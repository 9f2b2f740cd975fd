"""Open a page in headless Chromium and read back the JSON a script of it left in the DOM:
the layout checks of the audit report share it."""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path
from typing import Any


def dumped_json(page: Path, profile: Path, element_id: str, *, width: int, height: int) -> Any:
    """The JSON text of ``<pre id=element_id>`` once ``page`` has loaded (the script that
    writes it is the caller's), or None when the page never wrote it."""
    from interpret.maps.browser import CHROMIUM_FLAGS
    from interpret.maps.export import find_chromium

    dom = subprocess.run(
        [
            find_chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    ).stdout
    found = re.search(rf'<pre id="{element_id}">(.*?)</pre>', dom, re.S)
    if found is None or not found.group(1).strip():
        return None
    return json.loads(html.unescape(found.group(1)))
