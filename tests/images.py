"""Real test images, made with Pillow, good and deliberately bad."""

import io
import os
import struct
import zlib

from PIL import Image


def make_image(
    fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **save: object
) -> bytes:
    """A small real image in the given Pillow format."""
    colour = {"RGB": (200, 30, 90), "RGBA": (200, 30, 90, 128)}.get(mode, 1)
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, fmt, **save)
    return buffer.getvalue()


def animated_gif() -> bytes:
    """Two frames, the first red with a transparent half, the second blue."""
    first = Image.new("RGBA", (40, 30), (255, 0, 0, 255))
    first.paste((0, 0, 0, 0), (0, 0, 20, 30))
    second = Image.new("RGBA", (40, 30), (0, 0, 255, 255))
    buffer = io.BytesIO()
    first.save(buffer, "GIF", save_all=True, append_images=[second], disposal=2)
    return buffer.getvalue()


def noise_png(side: int) -> bytes:
    """An RGBA PNG of random pixels: incompressible, about 4 bytes per pixel."""
    image = Image.frombytes("RGBA", (side, side), os.urandom(side * side * 4))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = zlib.compress(b"\0" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
