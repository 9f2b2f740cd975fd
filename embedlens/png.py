"""PNG files without a dependency: read (8-bit RGB/RGBA), write (RGB), and their DPI.

:func:`read_png` uses Pillow when it is installed and a small decoder otherwise (what Chromium
writes: 8-bit, non-interlaced RGB or RGBA); :func:`write_png` writes 8-bit RGB; :func:`png_dpi`
and :func:`set_png_dpi` read and write the ``pHYs`` chunk that makes LaTeX and Word place an image
at its physical size. Only the standard library and numpy are used.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ["png_dpi", "read_png", "set_png_dpi", "write_png"]


def read_png(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes) to ``(h, w, c)``.

    Pillow decodes it when installed; otherwise a small decoder here does.
    """
    try:
        from PIL import Image
    except ImportError:
        return _decode_png(Path(path).read_bytes(), str(path))
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def write_png(path: str | os.PathLike[str], pixels: np.ndarray) -> None:
    """Write an ``(h, w, 3)`` uint8 array as an 8-bit RGB PNG (no filter, zlib level 6)."""
    rgb = np.ascontiguousarray(pixels[..., :3], dtype=np.uint8)
    h, w = rgb.shape[:2]
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
    Path(path).write_bytes(data + chunk(b"IEND", b""))


def _decode_png(data: bytes, name: str) -> np.ndarray:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{name} is not a PNG file")
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    bpp = {2: 3, 6: 4}.get(color_type)
    if depth != 8 or bpp is None or interlace:
        raise ValueError(f"unsupported PNG in {name} (bit depth {depth}, colour type {color_type})")
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    out = bytearray(height * stride)
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        cur = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), prev, bpp)
        out[y * stride : (y + 1) * stride] = cur
        prev = cur
    return np.frombuffer(bytes(out), dtype=np.uint8).reshape(height, width, bpp)[..., :3]


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> bytearray:
    """Undo one PNG row filter (None, Sub, Up, Average, Paeth) in place."""
    n = len(line)
    if kind == 1:
        for i in range(bpp, n):
            line[i] = (line[i] + line[i - bpp]) & 0xFF
    elif kind == 2:
        for i in range(n):
            line[i] = (line[i] + prev[i]) & 0xFF
    elif kind == 3:
        for i in range(n):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(n):
            left = line[i - bpp] if i >= bpp else 0
            corner = prev[i - bpp] if i >= bpp else 0
            up = prev[i]
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
            line[i] = (line[i] + pred) & 0xFF
    return line


def set_png_dpi(path: str | os.PathLike[str], dpi: float) -> None:
    """Write ``dpi`` into a PNG's ``pHYs`` chunk (replacing any), so it prints at its size."""
    import struct
    import zlib

    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    ppm = round(float(dpi) / 0.0254)
    body = struct.pack(">IIB", ppm, ppm, 1)
    chunk = struct.pack(">I", len(body)) + b"pHYs" + body
    chunk += struct.pack(">I", zlib.crc32(b"pHYs" + body) & 0xFFFFFFFF)
    out, pos = [data[:8]], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if kind != b"pHYs":
            out.append(data[pos:end])
        if kind == b"IHDR":
            out.append(chunk)
        pos = end
    Path(path).write_bytes(b"".join(out))


def png_dpi(path: str | os.PathLike[str]) -> float | None:
    """The DPI a PNG's ``pHYs`` chunk states (None without one, or in unknown units)."""
    import struct

    data = Path(path).read_bytes()
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"pHYs":
            x, _, unit = struct.unpack(">IIB", data[pos + 8 : pos + 17])
            return x * 0.0254 if unit == 1 else None
        pos += 12 + length
    return None
