"""A bounded reader of tar archives: the members asked for, from a stream, with every size
capped before it is read.

dsbench reads CIFAR-10's `.tar.gz` with this, not with Python's tarfile: tarfile's pax-header
parser can spin for ever on a crafted header (CVE-2024-6232, Python < 3.11.10 / 3.12.6), a hard
link's header claims size 0 for any content, and a GNU long-name header of any size is read
whole. Here every member must be a regular file or a folder; pax and GNU long-name headers
(which tar writes for long or non-ASCII names) are read up to 64 KiB by a linear parser; the
whole archive may not unpack to more than a given number of bytes (sizes are ASCII octal, pax
sizes ASCII decimal: never negative); a member asked for that appears twice is refused; and
reading goes in 1 MB pieces, so Ctrl-C and SIGTERM are seen between them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

BLOCK = 512
MAX_HEADER_BYTES = 64 * 1024  # a pax or long-name header: names and times, never more
CHUNK = 1 << 20
_KINDS = {b"1": "hard link", b"2": "symbolic link", b"3": "device", b"4": "device", b"6": "FIFO"}
_EXTENDED = (b"x", b"g", b"L")  # pax (per member, global), GNU long name
_FILES = (b"0", b"\0", b"7")  # regular files (7: contiguous, read as regular)


class Refused(ValueError):
    """The archive holds something this reader does not read; the message says what."""


class Truncated(EOFError):
    """The archive ends inside a member."""


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def read_members(
    stream: Readable,
    wanted: set[str],
    max_total: int,
    check: Callable[[str, int], None] | None = None,
) -> dict[str, bytes]:
    """The contents of the `wanted` members (by name, a leading './' ignored) of an
    uncompressed tar stream. `check(name, size)` sees each wanted member's size before it is
    read and may raise; more than `max_total` bytes of members and headers is refused."""
    found: dict[str, bytes] = {}
    total = 0
    extended: dict[str, str] = {}  # what a pax or long-name header says of the next member
    while True:
        header = stream.read(BLOCK)
        if len(header) < BLOCK or header == bytes(BLOCK):
            return found  # the end-of-archive blocks (or a cut archive: the caller checks)
        name, size, kind = _parse(header)
        if kind in _EXTENDED:
            if size > MAX_HEADER_BYTES:
                raise Refused(f"is not a tar archive (an extended header of {size:,} bytes)")
            total += BLOCK + _padded(size)
            body = read_exactly(stream, _padded(size), name)[:size]
            if kind == b"L":
                extended["path"] = body.split(b"\0")[0].decode("utf-8", "replace")
            elif kind == b"x":
                extended.update(_pax_records(body))
            continue
        name, size = extended.pop("path", name), int(extended.pop("size", size))
        extended.clear()
        if kind not in (*_FILES, b"5"):
            what = _KINDS.get(kind, f"member of type {kind.decode('latin-1')!r}")
            raise Refused(f"holds a {what} ({name[:80]!r}); dsbench reads only regular files")
        padded = _padded(size)
        total += BLOCK + padded
        if total > max_total:
            raise Refused(f"unpacks to more than {max_total:,} bytes, more than it should hold")
        key = name.removeprefix("./")
        if key in wanted and kind in _FILES:
            if key in found:  # a later member of the same name would replace the first silently
                raise Refused(f"holds {key[:80]!r} twice")
            if check is not None:
                check(name, size)
            found[key] = read_exactly(stream, size, name)
            padded -= size
        while padded > 0:  # skip the rest of this member, a bounded piece at a time
            skipped = len(stream.read(min(padded, CHUNK)))
            if skipped == 0:
                return found
            padded -= skipped


def _parse(header: bytes) -> tuple[str, int, bytes]:
    """(name, size, type flag) of a 512-byte ustar header whose checksum holds."""
    unsigned = sum(header[:148]) + 8 * 32 + sum(header[156:])
    checksum = _octal(header[148:156], -1)
    size = _octal(header[124:136], 0)
    if checksum != unsigned:
        raise Refused("is not a tar archive (bad header checksum)")
    name = header[:100].split(b"\0")[0].decode("utf-8", "replace")
    if header[257:263] == b"ustar\0" and header[345] != 0:  # POSIX ustar: a name prefix
        name = header[345:500].split(b"\0")[0].decode("utf-8", "replace") + "/" + name
    return name, size, header[156:157]


_OCTAL_DIGITS = frozenset(b"01234567")


def _octal(field: bytes, empty: int) -> int:
    """A header's number: ASCII octal digits only (int() would take '-777', '+7' or '0o7',
    and a negative size would cancel the cap on what the archive unpacks to)."""
    digits = field.split(b"\0")[0].strip(b" ")
    if not digits:
        return empty
    if not set(digits) <= _OCTAL_DIGITS:
        raise Refused("is not a tar archive (a header is damaged)")
    return int(digits, 8)


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _pax_records(body: bytes) -> dict[str, str]:
    """The path and size of a pax header ('LEN key=value\\n' records), parsed in one pass."""
    records: dict[str, str] = {}
    position = 0
    while position < len(body) and body[position] != 0:
        space = body.find(b" ", position, position + 20)
        if space < 0 or not body[position:space].isdigit():
            raise Refused("is not a tar archive (a damaged pax header)")
        length = int(body[position:space])
        record = body[space + 1 : position + length]
        if length <= space - position or not record.endswith(b"\n") or b"=" not in record:
            raise Refused("is not a tar archive (a damaged pax header)")
        key, value = record[:-1].split(b"=", 1)
        if key in (b"path", b"size"):
            records[key.decode()] = value.decode("utf-8", "replace")
        position += length
    size = records.get("size")
    if size is not None and not (size.isascii() and size.isdigit()):  # '²' is a digit too
        raise Refused("is not a tar archive (a pax header with a bad size)")
    return records


def read_exactly(stream: Readable, size: int, name: str) -> bytes:
    """`size` bytes of `stream` in bounded pieces; Truncated if it ends first."""
    pieces, left = [], size
    while left > 0:
        piece = stream.read(min(left, CHUNK))
        if not piece:
            raise Truncated(f"the archive ends inside {name} ({size - left:,} of {size:,} bytes)")
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces)


def drain(stream: Readable, max_total: int) -> None:
    """Read `stream` to its end in bounded pieces (a gzip stream checks its CRC there);
    refused past `max_total` bytes."""
    total = 0
    while piece := stream.read(CHUNK):
        total += len(piece)
        if total > max_total:
            raise Refused(f"unpacks to more than {max_total:,} bytes, more than it should hold")
