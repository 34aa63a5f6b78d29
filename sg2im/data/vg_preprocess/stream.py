"""Streaming a top-level JSON array element by element (the full VG files are 1-2 GB each)."""
from __future__ import annotations

import codecs
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Container, Iterator


from sg2im.errors import DataError

if TYPE_CHECKING:
    from sg2im.data.skips import SkipCounter
from sg2im.progress import progress

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER_TAIL = re.compile(r"[0-9eE.+-]*")  # what can still follow the digits of a number


def iter_json_array(path: str | os.PathLike, desc: str | None = None, chunk_size: int = 1 << 23) -> Iterator[Any]:
    """Yield the elements of a top-level JSON array one at a time, reading ``chunk_size`` bytes at
    a time (memory is one chunk plus one element).  A truncated or invalid file raises
    :class:`DataError` naming the file, the element number and the byte offset."""
    path = Path(path)
    try:
        total = path.stat().st_size
        fh = open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path}: not found. Run the download_vg stage or fix the path parameter.") from None
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    buf, pos, eof, index, consumed = "", 0, False, 0, 0
    bar = progress(total=total, desc=desc or path.name, unit="B", min_items=64 << 20)

    def more() -> bool:
        nonlocal buf, pos, eof, consumed
        data = fh.read(chunk_size)
        bar.update(len(data))
        eof = not data
        try:
            text = utf8.decode(data, final=eof)
        except UnicodeDecodeError as err:
            raise fail(f"not UTF-8 text ({err.reason})") from None
        buf = buf[pos:] + text
        consumed += pos
        pos = 0
        return not eof

    def fail(msg: str) -> DataError:
        return DataError(f"{path}: {msg} at element {index} (byte ~{consumed + pos} of {total}). "
                         "The file is truncated or not a JSON list; re-download it.")

    with fh, bar:
        while True:  # the opening bracket
            pos = _WS.match(buf, pos).end()
            if pos < len(buf) or not more():
                break
        if pos >= len(buf) or buf[pos] != "[":
            raise fail("expected a JSON list '['")
        pos += 1
        expect_value = True
        while True:
            pos = _WS.match(buf, pos).end()
            if pos >= len(buf):
                if more():
                    continue
                raise fail("unexpected end of file")
            ch = buf[pos]
            if ch == "]":
                if expect_value and index:
                    raise fail("trailing ',' before ']'")
                return
            if not expect_value:
                if ch != ",":
                    raise fail(f"expected ',' or ']' but found {ch!r}")
                pos += 1
                expect_value = True
                continue
            while True:
                try:
                    value, end = decoder.raw_decode(buf, pos)
                    if not eof and isinstance(value, (int, float)) and _NUMBER_TAIL.fullmatch(buf, end):
                        # a number may continue in the next chunk ("12" of "123", "-0." of "-0.5e3")
                        raise json.JSONDecodeError("incomplete", buf, end)
                    break
                except json.JSONDecodeError as exc:
                    if eof:
                        raise fail(f"invalid JSON ({exc.msg})") from None
                    more()
            pos = end
            index += 1
            expect_value = False
            yield value


def image_records(path: str | os.PathLike, wanted: Container[int], skips: "SkipCounter", desc: str | None = None
                  ) -> Iterator[tuple[int, dict]]:
    """``(image_id, record)`` of every per-image record of a VG file (objects/relationships/attributes.json)
    whose image is ``wanted``; records without an integer ``image_id`` are counted as malformed."""
    file = Path(path).name
    for rec in iter_json_array(path, desc=desc):
        image_id = rec.get("image_id") if isinstance(rec, dict) else None
        if image_id in wanted:
            yield image_id, rec
        elif not isinstance(rec, dict) or not isinstance(image_id, int):
            skips.add("malformed image records", rec, file)
