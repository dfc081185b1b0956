"""Prepare the caller's input images for an edit, and refuse what OpenAI would refuse.

cog has already downloaded every input to a local file. Each one is identified by
its content; PNG, JPEG and WebP go to OpenAI byte for byte, any other raster format
Pillow reads is converted to an 8-bit PNG (keeping transparency, scaling high bit
depths), and an image, or a converted PNG, over OpenAI's 50 MB limit is downscaled.
Converted images are written to a temporary directory that lives as long as the
prediction's request. Anything OpenAI would reject is refused here, before a
request is made, with a message that names the image by its position.
"""

import shutil
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from gpt_image.blocking import run_blocking
from gpt_image.errors import PredictionError
from gpt_image.formats import MIME_TYPES, sniff_format

MAX_IMAGES = 16  # OpenAI's limit per edit
# OpenAI takes each image "less than 50MB"; read as decimal megabytes, the stricter.
MAX_IMAGE_BYTES = 50_000_000
# Decoding is refused past this many pixels, so a decompression bomb (a small file
# that expands to gigabytes) cannot exhaust memory. Pillow only warns below ~89 MP.
MAX_PIXELS = 64 * 1024 * 1024
# Decoding one input can take about 0.4 GiB (a 64-megapixel 16-bit TIFF) and is
# CPU-bound: this many at once, across all predictions, keep the memory it takes
# bounded however many predictions bring such images, and lose nothing on 2 cores.
DECODES_AT_ONCE = 2
_DECODING = threading.BoundedSemaphore(DECODES_AT_ONCE)
# An image over 50 MB is downscaled to fit this square: OpenAI works at 1536 px at
# most, and a PNG this size is always well under the limit: converted images are
# 8-bit RGBA at most, and 2048x2048 RGBA noise, which deflate cannot shrink, makes
# a 16.8 MB PNG.
DOWNSCALED_SIDE = 2048
# Greyscale modes of more than 8 bits a pixel, which Pillow converts to 8 bits by
# clipping every value over 255 (or, for floats, by reading 0-1 as black).
DEEP_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")

# Raster formats that the installed Pillow decodes by itself. Formats it can only
# identify (MPEG, HDF5, ...) or that need an outside program (EPS runs Ghostscript)
# are not opened at all.
CONVERTIBLE_FORMATS = (
    "GIF",
    "BMP",
    "DIB",
    "TIFF",
    "ICO",
    "ICNS",
    "TGA",
    "PPM",
    "PCX",
    "SGI",
    "QOI",
    "AVIF",
    "JPEG2000",
    "PSD",
    "DDS",
    "XBM",
)
READABLE_FORMATS = ("PNG", "JPEG", "WEBP", *CONVERTIBLE_FORMATS)

# What the openai SDK sends as one multipart file part: (filename, content, MIME type).
# Without a filename and type OpenAI rejects the part as application/octet-stream.
UploadFile = tuple[str, BinaryIO, str]


class InputImageError(PredictionError):
    """An input image OpenAI would refuse; the message is for the caller."""


@dataclass(frozen=True)
class InputImage:
    """One input image as it will be sent, and what was done to get there."""

    position: int  # 1-based, as the caller counts
    # The caller's file, sent as it is, or the image converted for OpenAI in the
    # spool: read from disk either way, so sixteen large images are never all in memory.
    path: Path
    format: str  # "png", "jpeg" or "webp": what is sent
    width: int
    height: int
    source_format: str  # as Pillow names the file's own format
    source_bytes: int
    change: str | None = None  # None when sent as it is

    @property
    def mime_type(self) -> str:
        return MIME_TYPES[self.format]

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def open(self) -> BinaryIO:
        return self.path.open("rb")

    def read(self, offset: int, size: int) -> bytes:
        """Up to `size` bytes from `offset`."""
        with self.open() as file:
            file.seek(offset)
            return file.read(size)

    def upload_file(self, file: BinaryIO) -> UploadFile:
        return f"image_{self.position}.{self.format}", file, self.mime_type

    @property
    def data_url_length(self) -> int:
        """The length of the image as a data URL, without building it."""
        return len(f"data:{self.mime_type};base64,") + 4 * -(-self.size // 3)

    def summary(self) -> str:
        what = self.change or "sent as is"
        return (
            f"Input image {self.position}: {self.source_format} "
            f"{self.width}x{self.height}, {_file_size(self.source_bytes)}, {what}"
        )


@asynccontextmanager
async def prepared_input_images(paths: list[Path]) -> AsyncIterator[list[InputImage]]:
    """The input images, checked and prepared off the event loop, for the block's
    duration. The converted ones are spooled to a temporary directory that is removed
    however the block ends; a cancelled preparation has finished its thread by then
    (run_blocking waits for it), so nothing is written after the removal. Removing
    large converted files takes a while, so it runs off the event loop too; a
    generation, with no images, needs no directory."""
    if not paths:
        yield []
        return
    spool = Path(tempfile.mkdtemp(prefix="gpt-image-inputs-"))
    try:
        yield await run_blocking(prepare_input_images, paths, spool)
    finally:
        await run_blocking(shutil.rmtree, spool, ignore_errors=True)


def prepare_input_images(paths: list[Path], spool: Path) -> list[InputImage]:
    """Check and prepare every input image, writing converted ones into spool; raise
    InputImageError on the first bad one."""
    if len(paths) > MAX_IMAGES:
        raise InputImageError(
            f"{len(paths)} input images were given, but OpenAI accepts at most {MAX_IMAGES}. "
            "Remove some and try again."
        )
    return [_prepare(path, position, spool) for position, path in enumerate(paths, 1)]


def _prepare(path: Path, position: int, spool: Path) -> InputImage:
    size = path.stat().st_size
    if not size:
        raise InputImageError(f"Input image {position} is an empty file. Check the upload.")
    with path.open("rb") as file:
        passthrough = sniff_format(file.read(16))
    too_large = size >= MAX_IMAGE_BYTES
    with _DECODING, _opened(path, position) as image:
        source_format, (width, height) = str(image.format), image.size
        if passthrough is not None and not too_large:
            image.draft(image.mode, (1, 1))  # JPEG decodes at 1/8 scale: cheap, still complete
            _load(image, position)
            return InputImage(position, path, passthrough, width, height, source_format, size)
        _load(image, position)
        converted = spool / f"image_{position}.png"
        change = _write_png(_eight_bit(image), converted, too_large)
    return InputImage(position, converted, "png", width, height, source_format, size, change)


def _opened(path: Path, position: int) -> Image.Image:
    """The image opened, not yet decoded, once its size is known to be within limits."""
    try:
        image = Image.open(path, formats=READABLE_FORMATS)
    except Image.DecompressionBombError as error:
        raise _too_many_pixels(position) from error
    except UnidentifiedImageError as error:
        raise InputImageError(
            f"Input image {position} is not an image this model can read. "
            "Send a PNG, JPEG or WebP file (or GIF, BMP, TIFF and the like)."
        ) from error
    except Exception as error:  # Pillow raises many types for broken files
        raise _undecodable(position) from error
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise _too_many_pixels(position, f" ({width}x{height})")
    return image


def _load(image: Image.Image, position: int) -> None:
    """Decode the image fully: a truncated or corrupt file fails here."""
    try:
        image.load()
    except Exception as error:
        raise _undecodable(position) from error


def _undecodable(position: int) -> InputImageError:
    return InputImageError(
        f"Input image {position} could not be decoded: the file is truncated or corrupt. "
        "Re-save it and try again."
    )


def _too_many_pixels(position: int, size: str = "") -> InputImageError:
    return InputImageError(
        f"Input image {position}{size} has more than {MAX_PIXELS // 1024 // 1024} megapixels. "
        "Scale it down and try again: OpenAI works at 1536 pixels a side at most."
    )


def _eight_bit(image: Image.Image) -> Image.Image:
    """The (first frame of the) image as 8-bit RGB, or RGBA when it has transparency."""
    if image.mode in DEEP_GREY_MODES:
        image = _grey_to_8_bits(image)
    elif image.mode == "La":  # premultiplied: Pillow converts it only as RGBa
        grey, alpha = image.split()
        image = Image.merge("RGBa", (grey, grey, grey, alpha))
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _grey_to_8_bits(image: Image.Image) -> Image.Image:
    """Map the image's black-to-white range onto 0-255, rounding."""
    black, white = _black_and_white(image)
    scale = 255 / (white - black)
    # Pillow maps values linearly in these modes; other byte orders go through "I".
    values = image if image.mode in ("I", "I;16", "F") else image.convert("I")
    # Pillow truncates on the way to 8 bits: the extra half rounds.
    return values.point(lambda value: value * scale + (0.5 - black * scale)).convert("L")


def _black_and_white(image: Image.Image) -> tuple[float, float]:
    """The values that mean black and white. 16-bit integers span 0-65535. Pillow
    reads 16-bit PGMs (scaled to 0-65535) and signed 16-bit TIFFs as 32-bit integers,
    and 32-bit integers and floats name no range of their own: integers that fit in
    0-65535 are read as 16-bit, floats that fit in 0-1 as fractions, and anything
    else is stretched from its darkest value to its brightest."""
    if image.mode.startswith("I;16"):
        return 0, 65535
    low, high = image.getextrema()
    top = 1 if image.mode == "F" else 65535
    if low >= 0 and high <= top:
        return 0, top
    return low, max(high, low + 1)


def _write_png(frame: Image.Image, path: Path, too_large: bool) -> str:
    """Save the frame as PNG, downscaled if its source or the PNG itself would be over
    OpenAI's limit (a PNG can be far larger than a GIF or a JPEG of the same image);
    say what was done."""
    if too_large:
        frame.thumbnail((DOWNSCALED_SIDE, DOWNSCALED_SIDE))
        frame.save(path, "PNG")
        return f"re-encoded as a {frame.width}x{frame.height} PNG to get under OpenAI's 50 MB limit"
    frame.save(path, "PNG")
    full_size = path.stat().st_size
    if full_size < MAX_IMAGE_BYTES:
        return "converted to PNG"
    frame.thumbnail((DOWNSCALED_SIDE, DOWNSCALED_SIDE))
    frame.save(path, "PNG")
    return (
        f"converted to PNG and downscaled to {frame.width}x{frame.height} to get under "
        f"OpenAI's 50 MB limit (at full size it was {_file_size(full_size)})"
    )


def _file_size(size: int) -> str:
    """In decimal units, as OpenAI states its limit: 50 MB is 50,000,000 bytes."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{size / 1_000:.1f} kB" if size >= 1_000 else f"{size} bytes"
