"""Render the Unknot app icons (PNG) from icon.svg and badge.svg beside this file.

Dev-time tool; the PNGs are committed, so the app never needs it. Requires the
PyPI packages resvg-py (>= 0.5, pure wheel, no system libraries) and Pillow:

    pip install resvg-py pillow
    python static/icons/make_icons.py

Idempotent: re-running rewrites the same files with the same bytes.
"""
import io
from pathlib import Path

import resvg_py
from PIL import Image

HERE = Path(__file__).resolve().parent

# output name -> (source svg, size in px, keep alpha?)
TARGETS = {
    "icon-192.png": ("icon.svg", 192, False),
    "icon-512.png": ("icon.svg", 512, False),
    # icon.svg is full-bleed with the cord inside the central 80% circle,
    # so the maskable icon is the same art.
    "icon-maskable-512.png": ("icon.svg", 512, False),
    "apple-touch-icon.png": ("icon.svg", 180, False),
    "favicon-32.png": ("icon.svg", 32, False),
    # Android notification badge: white silhouette, only alpha matters.
    "badge-96.png": ("badge.svg", 96, True),
}


def render(svg: Path, size: int) -> Image.Image:
    png = resvg_py.svg_to_bytes(svg_path=str(svg), width=size, height=size)
    return Image.open(io.BytesIO(bytes(png))).convert("RGBA")


def main() -> None:
    for name, (src, size, alpha) in TARGETS.items():
        img = render(HERE / src, size)
        if not alpha:
            img = img.convert("RGB")  # opaque icons: drop the alpha channel
        img.save(HERE / name, format="PNG", optimize=True)
        print(f"{name:24} {size:>3}px {(HERE / name).stat().st_size:>6} bytes")


if __name__ == "__main__":
    main()
