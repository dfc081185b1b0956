"""Prepare the caller's input images for an edit request."""

from pathlib import Path

from gpt_image.formats import MIME_TYPES, sniff_format

# What the openai SDK sends as one multipart file part: (filename, content, MIME type).
# Without a filename and type OpenAI rejects the part as application/octet-stream.
UploadFile = tuple[str, bytes, str]


class InputImageError(ValueError):
    """An input image OpenAI would refuse; the message names it for the caller."""


def read_input_images(paths: list[Path]) -> list[UploadFile]:
    """Read each image and label it by its real format, not its file name."""
    return [_upload_file(path, position) for position, path in enumerate(paths, start=1)]


def _upload_file(path: Path, position: int) -> UploadFile:
    data = path.read_bytes()
    image_format = sniff_format(data)
    if image_format is None:
        raise InputImageError(
            f"Input image {position} is not a PNG, JPEG or WebP image. "
            "Convert it to one of these formats and try again."
        )
    return f"image_{position}.{image_format}", data, MIME_TYPES[image_format]
