"""Where extraction runs: in the event loop, or in worker processes on every core.

Parsing is the CPU cost of a batch; aiohttp needs little. With more than one
core, pages are parsed in a process pool so the event loop never stalls and
every core works. The pool starts on first use, so cached runs never pay for it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .extract import Extraction


def default_workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores if cores and cores > 1 else 0


def _warm_up() -> None:
    from . import extract  # noqa: F401  - import extruct/lxml once per worker


class Parser:
    """Calls `extract_bytes` in the loop (workers=0) or in a process pool."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("forkserver" if "forkserver" in methods else None)
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=context, initializer=_warm_up
            )
        return self._pool

    async def parse(
        self,
        body: bytes,
        base_url: str,
        *,
        header_charset: str | None,
        content_language: str | None,
        include_jsonld: bool,
    ) -> Extraction:
        args = (body, base_url, header_charset, content_language, include_jsonld)
        if self.workers <= 0:
            return _extract_call(*args)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._get_pool(), _extract_call, *args)
        except BrokenProcessPool:
            # a worker died (e.g. killed for memory): carry on in the loop
            self.close()
            self.workers = 0
            return _extract_call(*args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _extract_call(
    body: bytes,
    base_url: str,
    header_charset: str | None,
    content_language: str | None,
    include_jsonld: bool,
) -> Extraction:
    from .extract import extract_bytes

    return extract_bytes(
        body,
        base_url,
        header_charset=header_charset,
        content_language=content_language,
        include_jsonld=include_jsonld,
    )
