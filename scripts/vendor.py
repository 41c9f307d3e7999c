"""Copy the front-end packages installed by npm (from package-lock.json) into static files.

Nothing third-party is committed; `make install` runs `npm ci` and then this.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "yunshu" / "static" / "vendor"
FILES = {
    "node_modules/@tabler/core/dist/css/tabler.min.css": "tabler/tabler.min.css",
    "node_modules/@tabler/core/dist/js/tabler.min.js": "tabler/tabler.min.js",
    "node_modules/echarts/dist/echarts.min.js": "echarts/echarts.min.js",
}


def main() -> int:
    missing = [src for src in FILES if not (ROOT / src).exists()]
    if missing:
        print("vendor: missing (run npm ci first): " + ", ".join(missing), file=sys.stderr)
        return 1
    for src, dst in FILES.items():
        target = TARGET / dst
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / src, target)
    print(f"vendor: copied {len(FILES)} files into {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
