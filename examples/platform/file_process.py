"""`FILE_PROCESS` (queue `platform.file-process`): transform an uploaded file from
`{data_dir}/platform/uploads` into `{data_dir}/platform/processed/{job id}/`.

resize and convert work on images (Pillow); compress gzips any file (images: re-encoded JPEG/WebP at
`options.quality` when `options.format` is given); extract_text reads text, HTML and DOCX files.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree

from PIL import Image, UnidentifiedImageError
from pydantic import Field

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind, PermanentJobError

from ..common import files
from .fields import BaseJobData
from .job_types import QUEUES, JobType
from .store import area, now_iso, open_store

IMAGE_FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP", "gif": "GIF"}
TEXT_SUFFIXES = {".txt", ".md", ".csv", ".json", ".log", ".xml"}
MAX_SIDE = 10_000
MAX_INPUT_BYTES = 200 * 1024 * 1024


class FileProcessJobData(BaseJobData):
    filePath: str = Field(min_length=1, max_length=1024)
    operation: Literal["resize", "compress", "convert", "extract_text"]
    options: dict[str, Any] = Field(default_factory=dict)


def process_file(payload: FileProcessJobData, ctx: JobContext) -> dict:
    source = files.inside(area(ctx.settings.data_dir, "uploads"), payload.filePath, "filePath")
    if not source.is_file():
        raise PermanentJobError(f"filePath: no file {payload.filePath!r} in the uploads folder")
    if source.stat().st_size > MAX_INPUT_BYTES:
        raise PermanentJobError(f"filePath: {source.name} is larger than {MAX_INPUT_BYTES // 2**20} MiB")
    ctx.progress(10)
    name, content = OPERATIONS[payload.operation](source, payload.options)
    output = files.write_atomic(area(ctx.settings.data_dir, "processed") / files.safe_name(ctx.job_id) / name, content)
    with open_store(ctx.settings.data_dir) as db:
        db.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
            (ctx.job_id, str(source), payload.operation, str(output), now_iso()),
        )
    ctx.progress(100)
    return {"output": str(output), "bytes": len(content), "operation": payload.operation}


def resize(source: Path, options: dict) -> tuple[str, bytes]:
    image = _open_image(source)
    width, height = _whole(options, "width", 1, MAX_SIDE), _whole(options, "height", 1, MAX_SIDE)
    if width is None and height is None:
        raise PermanentJobError("options: resize needs width and/or height in pixels")
    ratio = image.width / image.height
    if width is None:
        width = max(1, round(height * ratio)) if height is not None else image.width
    if height is None:
        height = max(1, round(width / ratio))
    size = (width, height)
    fmt = image.format or "PNG"
    return source.name, _encode(image.resize(size), fmt, options)


def convert(source: Path, options: dict) -> tuple[str, bytes]:
    wanted = str(options.get("format", "")).lower()
    if wanted not in IMAGE_FORMATS:
        raise PermanentJobError(f"options.format: convert needs one of {', '.join(IMAGE_FORMATS)}")
    return f"{source.stem}.{wanted}", _encode(_open_image(source), IMAGE_FORMATS[wanted], options)


def compress(source: Path, options: dict) -> tuple[str, bytes]:
    if "format" in options:
        return convert(source, options)
    return f"{source.name}.gz", gzip.compress(source.read_bytes(), compresslevel=_whole(options, "level", 1, 9) or 9)


def extract_text(source: Path, options: dict) -> tuple[str, bytes]:
    suffix = source.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        text = source.read_text("utf-8", errors="replace")
    elif suffix in (".html", ".htm"):
        parser = _TextOfHTML()
        parser.feed(source.read_text("utf-8", errors="replace"))
        text = parser.text()
    elif suffix == ".docx":
        text = _docx_text(source)
    else:
        raise PermanentJobError(
            f"filePath: cannot extract text from {suffix or 'extension-less'} files; "
            f"use {', '.join(sorted(TEXT_SUFFIXES | {'.html', '.docx'}))}"
        )
    return f"{source.stem}.txt", text.encode()


OPERATIONS = {"resize": resize, "convert": convert, "compress": compress, "extract_text": extract_text}


def _open_image(source: Path) -> Image.Image:
    try:
        image = Image.open(source)
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise PermanentJobError(f"filePath: {source.name} is not an image Pillow can read ({exc})") from None
    return image


def _encode(image: Image.Image, fmt: str, options: dict) -> bytes:
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    quality = _whole(options, "quality", 1, 100) if fmt in ("JPEG", "WEBP") else None
    extra = {"quality": quality} if quality else {}
    image.save(buffer, format=fmt, **extra)
    return buffer.getvalue()


def _whole(options: dict, name: str, low: int, high: int) -> int | None:
    value = options.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PermanentJobError(f"options.{name}: a whole number from {low} to {high}")
    return value


class _TextOfHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self._parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("script", "style"):
            self._skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping and data.strip():
            self._parts.append(data.strip())

    def text(self) -> str:
        return "\n".join(self._parts) + "\n"


def _docx_text(source: Path) -> str:
    namespace = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    try:
        with zipfile.ZipFile(source) as archive:
            root = ElementTree.fromstring(archive.read("word/document.xml"))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as exc:
        raise PermanentJobError(f"filePath: {source.name} is not a readable DOCX ({exc})") from None
    paragraphs = ("".join(node.text or "" for node in p.iter(f"{namespace}t")) for p in root.iter(f"{namespace}p"))
    return "\n".join(paragraphs) + "\n"


KIND = JobKind(
    name=JobType.FILE_PROCESS,
    queue=QUEUES[JobType.FILE_PROCESS],
    payload=FileProcessJobData,
    process=process_file,
    max_attempts=3,
    backoff_ms=2000,
    timeout_ms=5 * 60_000,
    tenant_field="tenantId",
)
