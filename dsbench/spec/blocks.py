"""The blocks notation of the VGG's layers: "64x2,128x2,256x2" (filters x convolutions per
block) to ((64, 2), (128, 2), (256, 2)) and back."""

from __future__ import annotations

import re

from dsbench.errors import DsbenchError

BLOCKS_HELP = "comma-separated FILTERSxCONVS per block, e.g. 64x2,128x2,256x2"

_BLOCK_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def parse_blocks(text: str) -> tuple[tuple[int, int], ...]:
    """Parse '64x2,128x2,256x2' into ((64, 2), (128, 2), (256, 2)) or raise DsbenchError."""
    if not isinstance(text, str) or not text.strip():
        raise DsbenchError(
            f"malformed blocks {text!r}: it is empty", f"give {BLOCKS_HELP}", setting="blocks"
        )
    blocks = []
    for part in text.split(","):
        match = _BLOCK_RE.match(part)
        if not match:
            raise DsbenchError(
                f"malformed blocks {text!r}: {part.strip()!r} is not FILTERSxCONVS",
                f"give {BLOCKS_HELP}",
                setting="blocks",
            )
        filters, convs = int(match.group(1)), int(match.group(2))
        if not (1 <= filters <= 65536 and 1 <= convs <= 64):
            raise DsbenchError(
                f"malformed blocks {text!r}: {part.strip()!r} needs 1..65536 filters "
                "and 1..64 convs",
                f"give {BLOCKS_HELP}",
                setting="blocks",
            )
        blocks.append((filters, convs))
    if len(blocks) > 5:
        raise DsbenchError(
            f"malformed blocks {text!r}: {len(blocks)} blocks pool 32x32 images to nothing",
            "use at most 5 blocks",
            setting="blocks",
        )
    return tuple(blocks)


def format_blocks(blocks: tuple[tuple[int, int], ...]) -> str:
    """Inverse of parse_blocks."""
    return ",".join(f"{f}x{n}" for f, n in blocks)
