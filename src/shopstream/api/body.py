"""Reading a request body: JSON only, within a size limit.

- Declared as anything but ``application/json``: 415 before a byte is read. A page on
  any site may send a browser's "simple request" (``text/plain``, a form) to the API
  without asking; declaring JSON needs a CORS preflight, which only ``CORS_ORIGINS`` pass.
- Larger than ``limit``: 413 as soon as that is known, before the rest is read.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request, status

_JSON = "application/json"


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, detail=f"the body is larger than {limit:,} bytes"
    )


def _is_json(content_type: str) -> bool:
    """``application/json``, optionally ``; charset=utf-8`` (the only charset JSON has)."""
    media_type, _, parameters = content_type.partition(";")
    if media_type.strip().lower() != _JSON:
        return False
    if not parameters.strip():
        return True
    name, _, value = parameters.partition("=")
    return name.strip().lower() == "charset" and value.strip().strip('"').lower() == "utf-8"


def _require_json(request: Request) -> None:
    declared = request.headers.getlist("content-type")
    if declared == [_JSON] or (len(declared) == 1 and _is_json(declared[0])):
        return
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        detail="send the body as JSON, with the header 'Content-Type: application/json'",
    )


async def _read(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


# What the routes reading their body with ``read_body`` may answer, for the OpenAPI schema.
REFUSALS: dict[int | str, dict[str, Any]] = {
    415: {"description": "The body is not declared `Content-Type: application/json`"},
}


async def read_body(request: Request, limit: int) -> bytes:
    """The JSON body, read in chunks, refused as early as it can be (see above)."""
    _require_json(request)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    return await _read(request, limit)
