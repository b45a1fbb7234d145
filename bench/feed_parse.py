"""Benchmark: CPU seconds to parse one feed document, a normal one against hostile ones of
the same size, through the unguarded path (feedparser, then every entry made an item: what
``bridge.feeds.parse`` did before issue 11) and through ``bridge.feeds.parse`` now (DTD
markup refused before feedparser, only the first ``max_feed_items`` entries read).

Documents (each ≈ ``--mb`` MB):

- normal: RSS items with guid, link, date and a 1.5 kB HTML description;
- entities: one declared entity of ``--entity-chars`` characters referenced throughout one
  description (feedparser keeps such "safe" entities; expat expands them);
- tiny items: as many minimal items as fit.

Each measure runs in a child process with a memory cap (``--max-gb``) and a CPU-time cap
(``--max-cpu``), so the unguarded path cannot take the machine down; a capped run prints
">= cap" (or "out of memory").

    .venv/bin/python bench/feed_parse.py               # 5 MB documents
    .venv/bin/python bench/feed_parse.py --mb 1        # at the default size cap
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'
OPEN = '<rss version="2.0"><channel><title>Tin tức</title><link>https://t.hcm.edu.vn/</link>'
CLOSE = "</channel></rss>"


def normal(size: int) -> bytes:
    parts, n, total = [(HEAD + OPEN).encode()], 0, 0
    while total < size:
        parts.append(
            (
                f"<item><title>Tin {n}: hoạt động chuyên môn tháng 9</title>"
                f"<link>https://t.hcm.edu.vn/tin/{n}</link><guid>t-{n}</guid>"
                "<pubDate>Mon, 01 Sep 2025 08:00:00 GMT</pubDate><description>"
                + "&lt;p&gt;"
                + "Nội dung chữ " * 110
                + "&lt;/p&gt;</description></item>"
            ).encode()
        )
        total += len(parts[-1])
        n += 1
    return b"".join(parts) + CLOSE.encode()


def entities(size: int, chars: int) -> bytes:
    prolog = HEAD + f'<!DOCTYPE rss [\n<!ENTITY a "{"x" * chars}">\n]>\n'
    refs = (size - len(prolog) - 200) // 3
    body = f"<item><title>Tin</title><description>{'&a;' * refs}</description></item>"
    return (prolog + OPEN + body + CLOSE).encode()


def tiny_items(size: int) -> bytes:
    one = "<item><title>t</title><guid>{}</guid></item>"
    count = (size - 300) // len(one.format("000000"))
    return (HEAD + OPEN + "".join(one.format(f"{n:06}") for n in range(count)) + CLOSE).encode()


def unguarded(body: bytes) -> int:
    """The parse before issue 11: feedparser on everything, every entry an item."""
    import io

    import feedparser

    from bridge import feeds

    url = "https://t.hcm.edu.vn/rss"
    parsed = feedparser.parse(
        io.BytesIO(body),
        response_headers={"content-location": url},
        sanitize_html=False,
        resolve_relative_uris=True,
    )
    return sum(1 for i, e in enumerate(parsed.entries) if feeds._item(e, url, i) is not None)


def guarded(body: bytes) -> int | str:
    from bridge import feeds

    try:
        return len(feeds.parse(body, url="https://t.hcm.edu.vn/rss"))
    except feeds.FeedError as exc:
        return f"refused ({exc.reason})"


def child(kind: str, args: argparse.Namespace, path: str, out) -> None:
    cap = int(args.max_gb * 1024**3)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CPU, (args.max_cpu, args.max_cpu + 5))
    body = Path(path).read_bytes()
    import feedparser  # noqa: F401 (imports are not part of the measure)

    from bridge import feeds  # noqa: F401

    started = time.process_time()
    try:
        result = (unguarded if kind == "unguarded" else guarded)(body)
    except MemoryError:
        out.send(("out of memory", time.process_time() - started))
        return
    out.send((result, time.process_time() - started))


def measure(kind: str, args: argparse.Namespace, path: str) -> tuple[str, str]:
    receive, send = multiprocessing.Pipe(duplex=False)
    process = multiprocessing.Process(target=child, args=(kind, args, path, send))
    process.start()
    process.join()
    if receive.poll():
        result, seconds = receive.recv()
        return f"{seconds:8.2f}", str(result)
    return f">= {args.max_cpu}", f"killed (exit {process.exitcode})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=5.0, help="document size, MB")
    parser.add_argument("--entity-chars", type=int, default=128)
    parser.add_argument("--max-gb", type=float, default=6.0, help="memory cap per measure")
    parser.add_argument("--max-cpu", type=int, default=300, help="CPU seconds cap per measure")
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    docs = {
        "normal feed": normal(size),
        f"entities ({args.entity_chars} chars × refs)": entities(size, args.entity_chars),
        "tiny items": tiny_items(size),
    }
    import tempfile

    print(f"{'document':34} {'bytes':>9} {'path':10} {'cpu s':>8}  result")
    with tempfile.TemporaryDirectory() as tmp:
        for label, body in docs.items():
            path = Path(tmp) / "doc.xml"
            path.write_bytes(body)
            for kind in ("unguarded", "guarded"):
                seconds, result = measure(kind, args, str(path))
                print(f"{label:34} {len(body):9} {kind:10} {seconds:>8}  {result[:60]}")


if __name__ == "__main__":
    main()
