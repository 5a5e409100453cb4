"""Reading a request body with a size limit: past it, 413 before the rest is read."""

from __future__ import annotations

from fastapi import HTTPException, Request, status


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, detail=f"the body is larger than {limit:,} bytes"
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read in chunks; refused as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)
