"""A row that is an image array (``h × w`` numeric columns) as a PNG data URI — no imaging library."""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np

SCALE_TO = 168
"""Displayed size in pixels (nearest-neighbour upscaling keeps the pixels crisp)."""


def png_gray(values: np.ndarray, shape: tuple[int, int]) -> bytes:
    """8-bit grayscale PNG of ``values`` (min–max scaled, dark = high), upscaled to ~SCALE_TO px."""
    a = np.asarray(values, dtype=np.float64).reshape(shape)
    lo, hi = np.nanmin(a), np.nanmax(a)
    a = np.zeros_like(a) if hi <= lo else (a - lo) / (hi - lo)
    img = (255 - np.round(a * 255)).astype(np.uint8)
    k = max(1, SCALE_TO // max(shape))
    img = np.kron(img, np.ones((k, k), dtype=np.uint8))
    h, w = img.shape
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def data_uri(values: np.ndarray, shape: tuple[int, int]) -> str:
    return "data:image/png;base64," + base64.b64encode(png_gray(values, shape)).decode("ascii")
