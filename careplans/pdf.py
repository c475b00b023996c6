"""Rendering a copy of a plan as an accessible PDF, fetching nothing.

- `BundledAssetsOnly` is WeasyPrint's `URLFetcher` refusing every URL except the
  project's own bundled files (the Atkinson Hyperlegible fonts installed by npm). No
  network, no `file:///etc/passwd`, no `data:` URL: anything else raises, so an image,
  stylesheet or attachment named in someone's words is never read.
- `render_pdf(html)` writes a tagged PDF/UA-1 (structure tree, `/Lang`, `/Title`,
  fonts embedded) in a worker process, under a timeout, behind a bounded limiter:
  rendering is slow and CPU-bound, so it never runs on the web server's event loop
  or holds the GIL of the process serving JSON.

The HTML comes from the one Jinja environment (autoescape on) that renders the
preview page from the same view model (`careplans.shares.CopyView`).
"""

from __future__ import annotations

import concurrent.futures
import functools
import io
import logging
import multiprocessing
import os
import signal
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FONT_DIR = ROOT / "node_modules" / "@fontsource" / "atkinson-hyperlegible" / "files"
FONT_FILES = tuple(
    f"atkinson-hyperlegible-{subset}-{weight}-{style}.woff2"
    for subset in ("latin", "latin-ext") for weight in (400, 700) for style in ("normal", "italic")
)
log = logging.getLogger("careplans.pdf")


class RenderBusy(Exception):
    """Too many PDFs are being made at once; try again in a moment."""


class RenderTimeout(Exception):
    """A PDF took longer than the render timeout and was abandoned."""


def bundled_assets() -> dict[str, Path]:
    """The only URLs a render may read: each bundled font file by its file URL."""
    return {(FONT_DIR / name).as_uri(): FONT_DIR / name for name in FONT_FILES if (FONT_DIR / name).is_file()}


def base_url() -> str:
    """Relative URLs in the print stylesheet (the fonts) resolve against the font folder."""
    return FONT_DIR.as_uri() + "/"


@functools.lru_cache(maxsize=16)
def _font_bytes(path: Path) -> bytes:
    """A bundled WOFF2 font as plain TrueType, decompressed once per process (WeasyPrint
    would otherwise run Brotli on every font of every render)."""
    from fontTools.ttLib import woff2

    out = io.BytesIO()
    with path.open("rb") as f:
        woff2.decompress(f, out)
    return out.getvalue()


def _fetcher_class():
    from weasyprint import URLFetcher
    from weasyprint.urls import URLFetcherResponse

    class BundledAssetsOnly(URLFetcher):
        """Serves the bundled assets it was given and refuses every other URL."""

        def __init__(self, allowed: dict[str, Path] | None = None) -> None:
            super().__init__(timeout=1, allowed_protocols={"file"}, allow_redirects=False)
            self.allowed = dict(bundled_assets() if allowed is None else allowed)
            self.served: list[str] = []
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            path = self.allowed.get(url)
            if path is None:
                self.refused.append(url)
                raise ValueError("refused: only the project's bundled assets are served to the PDF renderer")
            self.served.append(url)
            return URLFetcherResponse(url, body=_font_bytes(path), headers={"Content-Type": "font/ttf"})

    return BundledAssetsOnly


def fetcher(allowed: dict[str, Path] | None = None):
    """A deny-all URL fetcher that serves only `allowed` (default: the bundled fonts)."""
    return _fetcher_class()(allowed)


class _Alarm(Exception):
    pass


def _on_alarm(signum, frame):  # pragma: no cover - only in a worker that ran too long
    raise _Alarm()


def render_pdf_bytes(html: str, timeout: float | None = None) -> tuple[bytes, list[str]]:
    """Render in this process: the PDF bytes and the URLs the fetcher refused.

    Called in a worker process by `render_pdf`; `timeout` arms an alarm there, so a
    render that runs too long stops instead of holding a worker."""
    from weasyprint import HTML

    fetch = fetcher()
    armed = timeout is not None and threading.current_thread() is threading.main_thread()
    if armed:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        document = HTML(string=html, base_url=base_url(), url_fetcher=fetch)
        pdf = document.write_pdf(pdf_variant="pdf/ua-1", attachments=[], uncompressed_pdf=False)
    except _Alarm as exc:
        raise RenderTimeout(f"The PDF took longer than {timeout} seconds.") from exc
    finally:
        if armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return pdf, fetch.refused


def _worker_init() -> None:
    """Each worker process: a lower CPU priority, so rendering yields to the web process
    serving JSON on the same cores."""
    try:
        os.nice(10)
    except OSError:  # pragma: no cover - not permitted on this system
        pass


def _warm() -> bool:
    import weasyprint  # noqa: F401 - import once per worker, before the first request

    return True


class Renderer:
    """A small pool of worker processes behind a bounded limiter.

    `workers` processes render; at most `workers * 2` requests wait for one, each for
    up to `wait` seconds (then `RenderBusy`, which the web edge answers with 503 and
    Retry-After). Workers are started with "spawn" so they share no state, threads or
    database connections with the web process."""

    def __init__(self, workers: int = 2, timeout: float = 30.0, wait: float = 60.0) -> None:
        self.workers = max(1, workers)
        self.timeout = timeout
        self.wait = wait
        self._limit = threading.BoundedSemaphore(self.workers * 2)
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_worker_init)
                for f in [self._pool.submit(_warm) for _ in range(self.workers)]:
                    f.result()
            return self._pool

    def render(self, html: str) -> bytes:
        if not self._limit.acquire(timeout=self.wait):
            raise RenderBusy("Many copies are being made just now. Try again in a minute.")
        try:
            future = self._executor().submit(render_pdf_bytes, html, self.timeout)
            try:
                pdf, refused = future.result(timeout=self.timeout + 5)
            except concurrent.futures.TimeoutError as exc:
                self._restart()
                raise RenderTimeout(f"The PDF took longer than {self.timeout} seconds.") from exc
            except concurrent.futures.process.BrokenProcessPool as exc:
                self._restart()
                raise RenderTimeout("The PDF could not be made.") from exc
            if refused:
                # Counts only: a refused URL may be somebody's words.
                log.info("pdf render refused %d url(s)", len(refused))
            return pdf
        finally:
            self._limit.release()

    def _restart(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


_renderer: Renderer | None = None
_renderer_lock = threading.Lock()


def renderer(timeout: float = 30.0) -> Renderer:
    """The process-wide renderer (`CAREPLANS_PDF_WORKERS` worker processes, default 2)."""
    global _renderer
    with _renderer_lock:
        if _renderer is None:
            _renderer = Renderer(workers=int(os.environ.get("CAREPLANS_PDF_WORKERS", "2")), timeout=timeout)
        return _renderer


def render_pdf(html: str, timeout: float = 30.0) -> bytes:
    return renderer(timeout).render(html)


def shutdown() -> None:
    global _renderer
    with _renderer_lock:
        r, _renderer = _renderer, None
    if r is not None:
        r.close()
