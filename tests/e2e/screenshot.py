"""Take the README's screenshot: `python -m tests.e2e.screenshot [out.png]` (`make
screenshot`), docs/screenshot.png by default.

Starts a private localglobus (demo data, in a temporary folder) and the portal, signs in
as researcher in headless Chromium (Debian's /usr/bin/chromium), opens the file manager on
"Lab Storage" (through its consent step-up) and photographs it at 1280x800.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

from localglobus.transfer.commands import _DEMO_NS
from tests.conftest import ROOT, start_localglobus
from tests.e2e.conftest import goto_through_consent, launch_chromium, serve_portal, sign_in

DEFAULT_OUT = ROOT / "docs" / "screenshot.png"
VIEWPORT = {"width": 1280, "height": 800}
LAB_STORAGE_ID = str(uuid.uuid5(_DEMO_NS, "lab-storage"))


def take(out: Path) -> None:
    """Run the portal on a private localglobus and save the screenshot to `out`."""
    with tempfile.TemporaryDirectory(prefix="ferry-screenshot-") as tmp:
        lg = start_localglobus(Path(tmp) / "localglobus")
        try:
            with serve_portal(lg, Path(tmp) / "portal") as portal, launch_chromium() as browser:
                page = sign_in(browser, portal, lg, "researcher", viewport=VIEWPORT)
                goto_through_consent(page, lg, portal, f"/files/?collection={LAB_STORAGE_ID}")
                page.locator("table.listing").wait_for()
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out))
        finally:
            lg.stop()


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else DEFAULT_OUT
    take(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
