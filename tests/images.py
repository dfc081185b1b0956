"""Real test images, made with Pillow, good and deliberately bad."""

import io
import os
import random
import struct
import zlib

from PIL import Image


def make_image(
    fmt: str,
    size: tuple[int, int] = (64, 48),
    mode: str = "RGB",
    colour: float | tuple[int, ...] | None = None,
    **save: object,
) -> bytes:
    """A small real image of one colour in the given Pillow format."""
    if colour is None:
        colour = {"RGB": (200, 30, 90), "RGBA": (200, 30, 90, 128)}.get(mode, 1)
    return encoded(Image.new(mode, size, colour), fmt, **save)


def encoded(image: Image.Image, fmt: str, **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def grey_ramp_16_bit(fmt: str) -> bytes:
    """A 16-bit greyscale ramp from black to white, as scanners save them: its mean
    is half of full brightness."""
    width = 512
    row = b"".join(round(x * 65535 / (width - 1)).to_bytes(2, "little") for x in range(width))
    return encoded(Image.frombytes("I;16", (width, 8), row * 8), fmt)


def associated_alpha_tiff(image: Image.Image) -> bytes:
    """A TIFF whose alpha is premultiplied ("associated"), which Pillow cannot write:
    an ordinary one with its ExtraSamples tag changed from unassociated to associated."""
    unassociated = b"\x52\x01\x03\x00\x01\x00\x00\x00\x02\x00"  # tag 338, SHORT, 1, 2
    data = encoded(image, "TIFF")
    assert data.count(unassociated) == 1
    return data.replace(unassociated, unassociated[:-2] + b"\x01\x00")


def noise_gif(width: int, height: int) -> bytes:
    """One frame of random pixels in 256 random colours: the GIF hardly compresses
    (1.4 bytes a pixel). As an RGB PNG these colours take 3 bytes a pixel: other
    palettes can let deflate find repeats (a different seed gave 2.5)."""
    rng = random.Random(1)
    image = Image.frombytes("P", (width, height), rng.randbytes(width * height))
    image.putpalette(rng.randbytes(768))
    return encoded(image, "GIF")


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
