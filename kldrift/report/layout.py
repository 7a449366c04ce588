"""Tables that fit the terminal: columns kept by priority, never wrapped, numbers never cut.

Every terminal table (compare, explain, windows, history) is declared as a list of `Field`s,
each with a priority (0 is kept longest). `tables` measures every cell, keeps the key field
(the row's name) and places the fields in priority order; from the first that does not fit the
console's width, the rest move to a second block (the key repeated), and what fits in neither
is dropped and named in a note. A header is never wrapped: a field that would fit with its
header broken between words takes the room for the whole header from the width the key grew in
that block (names shortened further), and if that is not enough it moves on like any other. A
cell is never wrapped or cut, except the key and fields marked `shorten`, which lose characters
in the middle ("customer_…_id"), and prose marked `wrap`, which breaks between words. Colour
plays no part: the layout depends on the text and the width alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

Cell = str | Text
ELLIPSIS = "…"
#: What a cell may shrink to when it is shortened in the middle, in character cells.
SHORTEST = 8
#: Blocks a table may be split into before fields are dropped.
MAX_BLOCKS = 2
#: How wide the key grows at its `whole_key` priority; beyond this it only takes room left over.
KEY_WIDTH = 24


@dataclass(frozen=True)
class Field:
    """One column of a terminal table: its header, cells, priority and how it may shrink.

    `priority` orders the fields kept as the width shrinks (0 first); the key field is always
    kept. `shorten` lets cells lose their middle down to `SHORTEST` cells (names, paths, never
    numbers); `wrap` lets prose break between words down to `SHORTEST` cells; `short_header`
    lets the header (a name) lose its middle down to the width of the cells, or `SHORTEST`.
    """

    header: str
    cells: Sequence[Cell]
    priority: int
    justify: Literal["left", "right"] = "left"
    shorten: bool = False
    wrap: bool = False
    short_header: bool = False


def shorten(text: str, width: int) -> str:
    """`text` in at most `width` character cells, its middle replaced by an ellipsis."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head_room = (width - 1) - (width - 1) // 2
    head, tail = "", ""
    for char in text:
        if cell_len(head + char) > head_room:
            break
        head += char
    for char in reversed(text):
        if cell_len(head) + cell_len(tail + char) + 1 > width:
            break
        tail = char + tail
    return head + ELLIPSIS + tail


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def _natural(field: Field) -> int:
    """The width that shows the header and every cell on one line."""
    return max([cell_len(field.header), *(cell_len(_plain(c)) for c in field.cells)])


def _least(field: Field, whole_header: bool = True) -> int:
    """The narrowest the field may be: its header on one line, cells whole unless they shrink.

    Not `whole_header`: as narrow as it would be with its header broken between words, which
    `plan` only uses to tell a field kept out by its header alone.
    """
    header = cell_len(field.header)
    if not whole_header:
        header = max((cell_len(w) for w in field.header.split()), default=0)
    if field.short_header:
        header = min(cell_len(field.header), SHORTEST)
    if field.shorten or field.wrap:
        return min(_natural(field), max(SHORTEST, header))
    return max([header, *(cell_len(_plain(c)) for c in field.cells)])


def _frame(count: int) -> int:
    """Characters a boxed table adds around `count` columns: borders and one space each side."""
    return 3 * count + 1


@dataclass(frozen=True)
class Block:
    """Fields of one table block, in display order, with the width each gets."""

    fields: tuple[Field, ...]
    widths: tuple[int, ...]


def plan(
    fields: Sequence[Field], width: int, whole_key: int = 0
) -> tuple[list[Block], list[Field]]:
    """The blocks `fields` fit in at `width` and the fields dropped.

    Fields are placed in priority order at their least width (the whole header included), each
    followed by its growth to its natural width (a whole name, unwrapped prose) before the
    fields of the next priority; a block ends at the first field that does not fit, and a growth
    that does not fit is left out. The first field is the key, first in every block; its growth
    (up to KEY_WIDTH) comes after the fields of priority `whole_key`, but a later field that
    would fit with its header broken between words takes back from it what its whole header
    needs. Room left over is shared out by `_widths`.
    """
    key = fields[0]
    order = sorted(
        [(f.priority, 0, i) for i, f in enumerate(fields) if i]
        + [(f.priority, 1, -i) for i, f in enumerate(fields) if i]
        + [(whole_key, 1, 0)]
    )
    pending = [i for _, _, i in order]
    blocks: list[Block] = []
    while any(i > 0 for i in pending) and len(blocks) < MAX_BLOCKS:
        chosen, used, grown = [0], _frame(1) + _least(key), {0: 0}
        for i in pending:
            if i > 0:
                need = _least(fields[i]) + 3
                short = used + need - width
                if short > 0:
                    # The names give up what they grew in this block so that a header stays
                    # whole rather than move out a field that fits with it broken in words.
                    if short > grown[0] or used + _least(fields[i], False) + 3 > width:
                        break
                    grown[0] -= short
                    used -= short
                chosen.append(i)
                grown[i] = 0
            else:  # a growth, of the key (0) or of field -i once it is placed
                field = fields[-i]
                if -i not in grown:
                    continue
                cap = KEY_WIDTH if i == 0 else _natural(field)
                need = max(0, min(_natural(field), cap) - _least(field))
                if used + need > width:
                    continue
            used += need
            if i <= 0:
                grown[-i] = need
        if len(chosen) == 1 and blocks:
            break
        # The key's growth stays pending for the next block; a field's goes with the field.
        pending = [i for i in pending if i == 0 or abs(i) not in chosen]
        order_in_block = sorted(chosen)
        extra = [grown[i] for i in order_in_block]
        blocks.append(_widths([fields[i] for i in order_in_block], width, extra))
    if not blocks:
        blocks.append(_widths([key], width))
    return blocks, [fields[i] for i in sorted(i for i in pending if i > 0)]


def _widths(fields: Sequence[Field], width: int, grown: Sequence[int] = ()) -> Block:
    """Each field at its least width plus what `plan` `grown` it, then the room left given to
    shrunk ones, by priority."""
    widths = [_least(f) + (grown[n] if n < len(grown) else 0) for n, f in enumerate(fields)]
    room = width - _frame(len(fields)) - sum(widths)
    # The key last: a header on one line is worth more than a longer name.
    for i in sorted(range(len(fields)), key=lambda i: (i == 0, fields[i].priority, i)):
        grow = min(room, _natural(fields[i]) - widths[i])
        if grow > 0:
            widths[i] += grow
            room -= grow
    return Block(tuple(fields), tuple(widths))


def tables(
    fields: Sequence[Field],
    width: int,
    *,
    title: str | None = None,
    caption: str | None = None,
    whole_key: int = 0,
) -> Group:
    """The rich tables (and a note of dropped fields) that show `fields` within `width`.

    The first field is the key, repeated in every block (see `plan` for `whole_key`). The title
    goes on the first block, the caption under the last.
    """
    # A field with nothing in it (no window in any run, say) only takes room.
    fields = [f for i, f in enumerate(fields) if not i or any(_plain(c) for c in f.cells)]
    blocks, dropped = plan(fields, width, whole_key)
    rows = len(fields[0].cells)
    out: list[RenderableType] = []
    for n, block in enumerate(blocks):
        table = Table(
            title=title if n == 0 else None,
            box=box.HEAVY_HEAD,
        )
        for field, w in zip(block.fields, block.widths, strict=True):
            table.add_column(
                # `plan` leaves room for the whole header; fold rather than cut it if it did not.
                Text(
                    shorten(field.header, w) if field.short_header else field.header,
                    no_wrap=False,
                    overflow="fold",
                ),
                justify=field.justify,
                width=w,
                no_wrap=not field.wrap,
                overflow="fold" if field.wrap else "ellipsis",
            )
        for r in range(rows):
            cells = zip(block.fields, block.widths, strict=True)
            table.add_row(*(_fitted(f.cells[r], f, w) for f, w in cells))
        out.append(table)
    if caption:
        # Under all the blocks at the full width, not squeezed to the last block's.
        out.append(Text(caption, style="italic"))
    if dropped:
        names = ", ".join(f.header for f in dropped)
        note = f"not shown at {width} columns: {names}; widen the terminal or use -f json"
        out.append(Text(note))
    return Group(*out)


def _fitted(cell: Cell, field: Field, width: int) -> Cell:
    if not field.shorten or cell_len(_plain(cell)) <= width:
        return cell
    short = shorten(_plain(cell), width)
    if isinstance(cell, Text):
        return Text(short, style=cell.style)
    return short
