"""Files: uploads stored in memory with Telegram-like file ids, the Document / PhotoSize JSON
for them, resolving an InputFile parameter (upload, attach://name or a known file_id) and
getFile with its download paths.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
import struct
from dataclasses import dataclass

from bot.fakeapi.checks import _param_str
from bot.fakeapi.protocol import (
    MAX_DOWNLOAD_BYTES,
    MAX_PHOTO_BYTES,
    MAX_UPLOAD_BYTES,
    ApiError,
    FileTuple,
    JSONDict,
    _bad_request,
)
from bot.fakeapi.state import FakeState


def _image_size(data: bytes) -> tuple[int, int]:
    """Width/height of PNG, GIF or JPEG data; (0, 0) when unknown."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
            width, height = struct.unpack(">II", data[16:24])
            return int(width), int(height)
        if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
            width, height = struct.unpack("<HH", data[6:10])
            return int(width), int(height)
        if data[:2] == b"\xff\xd8":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                    i += 1 if marker == 0xFF else 2
                    continue
                (seg_len,) = struct.unpack(">H", data[i + 2 : i + 4])
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                    return int(width), int(height)
                i += 2 + seg_len
    except struct.error:
        pass
    return 0, 0


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # "document" or "photo"
    data: bytes
    file_name: str | None
    mime_type: str | None
    file_path: str | None = None


class FilesMixin(FakeState):
    """Uploaded files of `FakeBotApi` (the users' and the bot's) and getFile."""

    def _store_file(
        self, kind: str, data: bytes, file_name: str | None, mime_type: str | None
    ) -> _StoredFile:
        self._file_counter += 1
        digest = hashlib.sha256(f"{self.token}:{kind}:{self._file_counter}".encode()).digest()
        prefix = "BQACAgUAAxkBAAI" if kind == "document" else "AgACAgUAAxkBAAI"
        file_id = prefix + base64.urlsafe_b64encode(digest).decode().rstrip("=")
        unique = hashlib.sha256(data).digest()[:12]
        file_unique_id = "AgAD" + base64.urlsafe_b64encode(unique).decode().rstrip("=")
        if kind == "document" and not mime_type and file_name:
            mime_type = mimetypes.guess_type(file_name, strict=False)[0]
        stored = _StoredFile(file_id, file_unique_id, kind, bytes(data), file_name, mime_type)
        self._files[file_id] = stored
        return stored

    def _document_json(self, stored: _StoredFile) -> JSONDict:
        document: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    def _photo_json(self, stored: _StoredFile) -> list[JSONDict]:
        width, height = _image_size(stored.data)
        return [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data),
                "width": width,
                "height": height,
            }
        ]

    def _input_file(
        self, params: JSONDict, files: dict[str, FileTuple], field_name: str, kind: str
    ) -> _StoredFile:
        """Resolve an InputFile parameter: an upload, attach://name or an existing file_id."""
        value = params.get(field_name)
        spec: FileTuple | None = None
        if isinstance(value, str) and value.startswith("attach://"):
            spec = files.get(value.removeprefix("attach://"))
            if spec is None:
                raise _bad_request(f"file for {field_name} not found in the request")
        elif value is None or value == "":
            spec = files.get(field_name)
            if spec is None:
                raise _bad_request(f"there is no {field_name} in the request")
        if spec is not None:
            file_name, data = spec[0], spec[1]
            mime_type = spec[2] if len(spec) > 2 else None
            if isinstance(data, str):
                data = data.encode("utf-8")
            if not data:
                raise _bad_request("file must be non-empty")
            limit = MAX_PHOTO_BYTES if kind == "photo" else MAX_UPLOAD_BYTES
            if len(data) > limit:
                raise ApiError(413, "Request Entity Too Large")
            if kind == "photo":
                return self._store_file("photo", data, file_name or "photo.jpg", "image/jpeg")
            if mime_type in (None, "", "application/octet-stream") and file_name:
                mime_type = mimetypes.guess_type(file_name, strict=False)[0] or mime_type
            return self._store_file("document", data, file_name or "document", mime_type)
        file_id = str(value)
        if re.match(r"(?i)^https?://", file_id):
            raise _bad_request("failed to get HTTP URL content")
        stored = self._files.get(file_id)
        if stored is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            have = stored.kind.capitalize()
            raise _bad_request(f"can't use file of type {have} as {kind.capitalize()}")
        return stored

    def _m_getFile(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        file_id = _param_str(params, "file_id")
        if not file_id:
            raise _bad_request("file_id is empty")
        stored = self._files.get(file_id)
        if stored is None:
            raise _bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        if stored.file_path is None:
            if stored.kind == "photo":
                folder, suffix = "photos", ".jpg"
            else:
                folder = "documents"
                name = stored.file_name or ""
                suffix = name[name.rfind(".") :] if "." in name else ""
                if not re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix):
                    suffix = ""
            stored.file_path = f"{folder}/file_{len(self._files_by_path)}{suffix}"
            self._files_by_path[stored.file_path] = stored
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }
