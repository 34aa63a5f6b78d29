"""Regenerate docs/editor.png: the editor (sg2im serve) on a checkpoint, at one of the paper's graphs, captured in
Debian's chromium through Playwright.

    .venv/bin/python docs/editor_screenshot.py --checkpoint models/vg/sg2im.pt --figure figure_6_sheep --graph 2
"""
from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="models/vg/sg2im.pt")
    parser.add_argument("--figure", default="figure_6_sheep")
    parser.add_argument("--graph", type=int, default=2, help="1-based, as the editor's menu numbers them")
    parser.add_argument("--out", default="docs/editor.png")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "sg2im.serve", "--checkpoint", args.checkpoint, "--port",
                               str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/api/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
            page = browser.new_page(viewport={"width": 1530, "height": 520})
            page.goto(url)
            label = f"{args.figure} #{args.graph}:"
            page.wait_for_selector(f'#figures option:has-text("{label}")', state="attached")
            page.select_option("#figures", label=page.locator("#figures option", has_text=label).inner_text())
            page.wait_for_function("document.body.dataset.generated && !window.sg2im.view.pending")
            page.wait_for_timeout(300)
            page.screenshot(path=args.out)
            browser.close()
        print(f"wrote {Path(args.out)}")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
