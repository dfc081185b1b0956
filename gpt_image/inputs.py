"""Prepare the caller's input images for an edit, and refuse what OpenAI would refuse.

cog has already downloaded every input to a local file. Each one is identified by
its content; PNG, JPEG and WebP go to OpenAI byte for byte, any other raster format
Pillow reads is converted to PNG (keeping transparency), and an image over OpenAI's
50 MB limit is downscaled. Anything OpenAI would reject is refused here, before a
request is made, with a message that names the image by its position.
"""

import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from gpt_image.errors import PredictionError
from gpt_image.formats import MIME_TYPES, sniff_format

MAX_IMAGES = 16  # OpenAI's limit per edit
# OpenAI takes each image "less than 50MB"; read as decimal megabytes, the stricter.
MAX_IMAGE_BYTES = 50_000_000
# Decoding is refused past this many pixels, so a decompression bomb (a small file
# that expands to gigabytes) cannot exhaust memory. Pillow only warns below ~89 MP.
MAX_PIXELS = 64 * 1024 * 1024
# An image over 50 MB is downscaled to fit this square: OpenAI works at 1536 px at
# most, and a PNG this size is always well under the limit.
DOWNSCALED_SIDE = 2048

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
    # The caller's file, sent from disk as it is (sixteen large images are never all
    # in memory), or the image converted for OpenAI.
    content: Path | bytes
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
        if isinstance(self.content, bytes):
            return len(self.content)
        return self.content.stat().st_size

    def open(self) -> BinaryIO:
        if isinstance(self.content, bytes):
            return io.BytesIO(self.content)
        return self.content.open("rb")

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


def prepare_input_images(paths: list[Path]) -> list[InputImage]:
    """Check and prepare every input image; raise InputImageError on the first bad one."""
    if len(paths) > MAX_IMAGES:
        raise InputImageError(
            f"{len(paths)} input images were given, but OpenAI accepts at most {MAX_IMAGES}. "
            "Remove some and try again."
        )
    return [_prepare(path, position) for position, path in enumerate(paths, 1)]


def _prepare(path: Path, position: int) -> InputImage:
    size = path.stat().st_size
    if not size:
        raise InputImageError(f"Input image {position} is an empty file. Check the upload.")
    source_format, width, height = _check_decodes(path, position)
    with path.open("rb") as file:
        passthrough = sniff_format(file.read(16))
    too_large = size >= MAX_IMAGE_BYTES
    if passthrough is not None and not too_large:
        return InputImage(position, path, passthrough, width, height, source_format, size)

    png, (new_width, new_height) = _as_png(path, downscale=too_large)
    change = (
        f"re-encoded as a {new_width}x{new_height} PNG to get under OpenAI's 50 MB limit"
        if too_large
        else "converted to PNG"
    )
    return InputImage(position, png, "png", width, height, source_format, size, change)


def _check_decodes(path: Path, position: int) -> tuple[str, int, int]:
    """Decode the image fully, within the pixel limit; return its format and size."""
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
    with image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise _too_many_pixels(position, f" ({width}x{height})")
        image.draft(image.mode, (1, 1))  # JPEG decodes at 1/8 scale: cheap, still complete
        try:
            image.load()
        except Exception as error:
            raise _undecodable(position) from error
        return str(image.format), width, height


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


def _as_png(path: Path, downscale: bool) -> tuple[bytes, tuple[int, int]]:
    """The first frame as PNG, keeping transparency; optionally shrunk to fit."""
    with Image.open(path, formats=READABLE_FORMATS) as image:
        has_alpha = image.has_transparency_data
        frame = image.convert("RGBA" if has_alpha else "RGB")
    if downscale:
        frame.thumbnail((DOWNSCALED_SIDE, DOWNSCALED_SIDE))
    buffer = io.BytesIO()
    frame.save(buffer, "PNG")
    return buffer.getvalue(), frame.size


def _file_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} bytes"
