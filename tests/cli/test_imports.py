"""`og-preview --help` and `show` must not pay for aiohttp, extruct or the HTML5 parser."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("aiohttp", "extruct", "lxml", "turbohtml")
# what only `og-preview report` needs: the other commands start without it
REPORT_ONLY = ("og_preview.present.report", "og_preview.present.report_assets", "webbrowser")


@pytest.mark.parametrize("module", ["og_preview", "og_preview.cli.app"])
def test_import_is_light(module: str) -> None:
    heavy = HEAVY + REPORT_ONLY
    code = f"import sys, {module}; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_show_does_not_import_heavy_modules(tmp_path: object) -> None:
    code = (
        "import sys\n"
        "from og_preview.cli.app import main\n"
        "sys.argv = ['og-preview', 'show', '--format', 'jsonl']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY=\n" in out.stderr or out.stderr.rstrip().endswith("HEAVY=")
