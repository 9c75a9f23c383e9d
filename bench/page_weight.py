"""First-visit weight of /guide/calf: its HTML plus every stylesheet and
script it loads (ES module imports followed), gzip-compressed as served.

    python -m bench.page_weight

Budget (DESIGN.md): 25 KB. The ratio printed is measured / budget, and the
uncompressed total is printed beside it for comparison.
"""
import re
import sys
from urllib.parse import urljoin

from webapp import create_app

BUDGET = 25 * 1024
PAGE = "/guide/calf"
LINKS = re.compile(r'<(?:link rel="stylesheet" href|script[^>]*src)="([^"]+)"')
IMPORTS = re.compile(r'(?:import|export)[^"\']*?from\s*["\']([^"\']+)["\']|import\s*\(\s*["\']([^"\']+)["\']|import\s+["\']([^"\']+)["\']')


def fetch(client, url):
    compressed = client.get(url, headers={"Accept-Encoding": "gzip"})
    plain = client.get(url)
    assert compressed.status_code == plain.status_code == 200, url
    return len(compressed.get_data()), plain.get_data(as_text=True)


def main():
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "SCHEDULER": "off", "DATABASE_URL": f"sqlite:///{tmp}/b.sqlite",
                          "VAPID_PRIVATE_KEY": f"{tmp}/k.pem"})
        client = app.test_client()
        rows, queue, seen = [], [PAGE], set()
        while queue and len(seen) < 100:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            size, text = fetch(client, url)
            rows.append((url, size, len(text.encode())))
            found = LINKS.findall(text) if url == PAGE else []
            if url.endswith(".js") or ".js?" in url:
                found = [next(filter(None, m)) for m in IMPORTS.findall(text)]
            queue += [urljoin(url, f) for f in found]
    total = sum(r[1] for r in rows)
    plain = sum(r[2] for r in rows)
    for url, size, raw in rows:
        print(f"{size:>8,} B gzip {raw:>8,} B raw  {url}")
    print(f"total {total:,} B gzip ({plain:,} B uncompressed, {plain / total:.1f}x larger)")
    print(f"budget {BUDGET:,} B: measured/budget = {total / BUDGET:.2f} ({'within' if total <= BUDGET else 'OVER'} budget)")
    return 0 if total <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
