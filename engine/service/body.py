"""Reading a request body with a size limit, refused before it is read whole.

A ``Content-Length`` over the limit is refused at once, before any byte of the body is read; a
body sent without one (chunked) is counted as it streams in and refused as soon as it passes the
limit.  Either way nothing over the limit is ever held in memory.
"""
from __future__ import annotations


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit:,} bytes; send fewer tickets per request")


class BadContentLength(Exception):
    pass


async def read_body(scope: dict, receive, limit: int) -> bytes:
    declared = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                raise BadContentLength("Content-Length is not a number") from None
            break
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
