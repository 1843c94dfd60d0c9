"""Whether a warehouse file is whole, from its size and its header's block counts."""

from __future__ import annotations

from biotwin.warehouse import FILE_HEADER_BYTES, shortfall

BLOCK = 262_144


def test_free_blocks_missing_at_the_end_are_not_damage() -> None:
    # a demo warehouse as DuckDB left it: 838 blocks counted, 835 used, 837 in the file
    assert shortfall(219_426_816, BLOCK, total_blocks=838, used_blocks=835) is None
    assert shortfall(FILE_HEADER_BYTES + BLOCK * 848, BLOCK, 848, 839) is None


def test_a_file_missing_used_blocks_is_cut_short() -> None:
    found = shortfall(FILE_HEADER_BYTES + BLOCK * 400, BLOCK, total_blocks=838, used_blocks=835)
    assert found and "it was cut short" in found and "835 used blocks" in found
