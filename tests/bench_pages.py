"""Measure the built book's pages as a reader's browser sees them (a script, not a test).

    .venv/bin/python tests/bench_pages.py HTML_DIR [--out FILE] [--shots DIR --prefix before]

For every page (chapters, appendices, intro, course, search) on a first load with an empty cache,
in headless Chromium at a 390x844 phone viewport, served from localhost with gzip:

* bytes: raw, and gzip-compressed (level 6, what a static host with compression serves), summed
  over every response of the first load; requests: how many (data: URLs not counted);
* console errors and warnings (and uncaught page errors);
* tables: how many are wider than the phone screen (they push the page sideways, or run past the
  screen edge uncut), how many scroll inside their own box (fine), and how many there are;
* time to readable math on a simulated slow phone (Chrome's CDP: 400 kbit/s down, 400 ms round
  trip, CPU 4x slower): from the start of navigation until the page has painted (first
  contentful paint) and every math element parsed so far is typeset (an ``mjx-container``, SVG or
  MathML inside it) with no raw TeX (``\\(``, ``$$``, ``\\frac``...) left in its text; pages with
  math only (``--slow all``: every page).

``--shots DIR`` also saves 390x844 screenshots of chapter 1's first screen and first figure as
DIR/PREFIX-ch1-first.png and DIR/PREFIX-ch1-figure.png.
"""
from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import io
import shutil
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
PHONE = {"width": 390, "height": 844}
SLOW = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8,
        "uploadThroughput": 400_000 / 8}
CPU_SLOWDOWN = 4

# In the page from its first byte: note when the math first becomes readable.
READABLE_WATCH = r"""
(() => {
  const RAW = /\\\(|\\\[|\$\$|\\frac|\\mathrm|\\text\{|\^\{|_\{|\\cdot/;
  const check = () => {
    const els = [...document.querySelectorAll('span.math, div.math')];
    // nothing is readable before the first contentful paint
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    if (!els.length || !fcp) return false;
    window.__fcp = fcp.startTime;
    for (const e of els) {  // textContent: no layout forced while the page loads
      if (!e.querySelector('mjx-container, svg, math')) return false;
      if (RAW.test(e.textContent || '')) return false;
    }
    return true;
  };
  window.__mathReadyAt = null;
  const tick = () => {
    try {
      if (window.__mathReadyAt === null && check())
        window.__mathReadyAt = Math.max(performance.now(), window.__fcp);
    } catch (err) { window.__mathCheckError = String(err); }
    if (window.__mathReadyAt === null) setTimeout(tick, 50);
  };
  tick();
})();
"""

TABLES = r"""() => {
  const vw = document.documentElement.clientWidth;
  const clips = el => {  // an ancestor (or the table itself) that scrolls or clips sideways
    for (let a = el; a && a !== document.body; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox === 'auto' || ox === 'scroll' || ox === 'hidden' || ox === 'clip') return a;
    }
    return null;
  };
  let wide = 0, scrolls = 0, n = 0;
  for (const t of document.querySelectorAll('article table')) {
    n += 1;
    const box = clips(t);
    const r = (box || t).getBoundingClientRect();
    if (r.right > vw + 1 || r.left < -1) { wide += 1; continue; }
    if (box && (box.scrollWidth > box.clientWidth + 1)) scrolls += 1;
  }
  return {n, wide, scrolls, page: document.documentElement.scrollWidth};
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    """Serves files gzip-compressed when the browser accepts it, as a static host does."""

    def log_message(self, *args):
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file() or "gzip" not in self.headers.get("Accept-Encoding", ""):
            return super().send_head()
        body = gzipped(path)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # a page closed mid-transfer: fine
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def serve(root: Path):
    server = _Server(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@functools.cache
def gzipped(path: Path) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)


def sizes(path: Path) -> tuple[int, int]:
    return path.stat().st_size, len(gzipped(path))


def pages_of(root: Path) -> list[str]:
    out = []
    for p in sorted(root.rglob("*.html")):
        rel = p.relative_to(root)
        if rel.parts[0] in ("_static", "_sources", "_images") or rel.name == "genindex.html":
            continue
        if 'http-equiv="Refresh"' in p.read_text(encoding="utf-8"):
            continue  # index.html only redirects
        out.append(str(rel))
    return out


def first_load(browser, root: Path, base: str, rel: str) -> dict:
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    reqs, console = [], []
    page.on("request", lambda r: reqs.append(r.url) if not r.url.startswith("data:") else None)
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.goto(f"{base}/{rel}", wait_until="networkidle")
    page.wait_for_timeout(300)
    tables = page.evaluate(TABLES)
    images = page.evaluate("() => [...document.images].map(i => i.currentSrc || i.src)")
    ctx.close()
    lazy = 0  # images not fetched yet (they load as the reader scrolls near them)
    for url in set(images) - set(reqs):
        u = urlparse(url)
        f = root / unquote(u.path).lstrip("/")
        if u.hostname == "127.0.0.1" and f.is_file():
            lazy += sizes(f)[1]
    raw = gz = 0
    missing = []
    for url in reqs:
        u = urlparse(url)
        f = root / unquote(u.path).lstrip("/")
        if u.hostname == "127.0.0.1" and f.is_file():
            r, g = sizes(f)
            raw, gz = raw + r, gz + g
        else:
            missing.append(url)
    return {"raw": raw, "gz": gz, "lazy": lazy, "requests": len(reqs), "console": console,
            "tables": tables, "unmeasured": missing}


def slow_math(browser, base: str, rel: str, timeout_s: float = 90) -> float | None:
    """Seconds from navigation start to readable math on the simulated slow phone."""
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    page.add_init_script(READABLE_WATCH)
    page.goto(f"{base}/{rel}", wait_until="commit", timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    at = None
    while time.monotonic() < deadline:
        try:
            at = page.evaluate("() => window.__mathReadyAt")
        except Exception:  # navigation still committing
            at = None
        if at is not None:
            break
        time.sleep(0.25)
    ctx.close()
    return None if at is None else at / 1000


def has_math(root: Path, rel: str) -> bool:
    html = (root / rel).read_text(encoding="utf-8")
    return 'class="math' in html


def shots(browser, base: str, outdir: Path, prefix: str) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=2)
    page = ctx.new_page()
    page.goto(f"{base}/chapters/01_optimal_batch.html", wait_until="networkidle")
    page.wait_for_timeout(500)
    page.screenshot(path=str(outdir / f"{prefix}-ch1-first.png"))
    fig = page.locator("article figure, article img").first
    fig.scroll_into_view_if_needed()
    page.evaluate("() => { const f = document.querySelector('article figure, article img');"
                  " f.scrollIntoView({block: 'start'}); window.scrollBy(0, -60); }")
    page.wait_for_timeout(300)
    page.screenshot(path=str(outdir / f"{prefix}-ch1-figure.png"))
    ctx.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--slow", choices=["math", "all", "none"], default="math")
    ap.add_argument("--only", help="measure pages whose path contains this")
    ap.add_argument("--shots", type=Path)
    ap.add_argument("--prefix", default="shot")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    root = args.html.resolve()
    server, base = serve(root)
    rels = [r for r in pages_of(root) if not args.only or args.only in r]
    lines = [f"# {root}  ({time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())})",
             "# first load, empty cache, 390x844; gz = gzip -6 of every response;"
             " math = s to readable math, slow phone (400 kbit/s, 400 ms RTT, CPU/4)",
             "# +lazy = gz KB of the images not fetched on first load (they load on scrolling)",
             f"{'page':38} {'raw KB':>8} {'gz KB':>7} {'+lazy':>6} {'reqs':>5} {'console':>7}"
             f" {'tables wide/scroll/all':>22} {'math s':>7}"]
    details = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for rel in rels:
            m = first_load(browser, root, base, rel)
            t = None
            if args.slow == "all" or (args.slow == "math" and has_math(root, rel)):
                t = slow_math(browser, base, rel)
                ts = "never" if t is None else f"{t:.1f}"
            else:
                ts = "-"
            tb = m["tables"]
            lines.append(f"{rel:38} {m['raw'] / 1024:8.0f} {m['gz'] / 1024:7.0f}"
                         f" {m['lazy'] / 1024:6.0f}"
                         f" {m['requests']:5d} {len(m['console']):7d}"
                         f" {tb['wide']:>10}/{tb['scrolls']}/{tb['n']:<7}"
                         f" {ts:>7}")
            print(lines[-1], flush=True)
            for c in m["console"]:
                details.append(f"{rel}: {c[:300]}")
            for u in m["unmeasured"]:
                details.append(f"{rel}: not measured (not a local file): {u[:200]}")
        if args.shots:
            shots(browser, base, args.shots, args.prefix)
        browser.close()
    server.shutdown()
    text = "\n".join(lines + ["", "# console messages and notes"] + details) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print("\n".join(["", "# console messages and notes"] + details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
