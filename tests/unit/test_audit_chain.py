"""The audit hash chain alone: intact logs verify, any edit, deletion or reordering is named."""

from __future__ import annotations

from datetime import UTC, datetime

from lineage.audit import GENESIS, chain, verify


def _log(n: int = 5) -> list[dict]:
    at = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    entries = [
        {
            "recorded_at": at,
            "kind": "file_loaded",
            "subject": f"f{i}",
            "actor": "t",
            "detail": f'{{"rows":{i}}}',
        }
        for i in range(1, n + 1)
    ]
    return chain(entries, 0, GENESIS)


def test_an_untouched_log_verifies_and_continues() -> None:
    log = _log()
    assert verify(log).ok and verify(log).checked == 5
    more = chain([{**log[0], "subject": "g"}], log[-1]["seq"], log[-1]["hash"])
    assert more[0]["seq"] == 6 and verify(log + more).ok


def test_an_edited_entry_is_named() -> None:
    log = _log()
    log[2] = {**log[2], "detail": '{"rows":999}'}
    verdict = verify(log)
    assert not verdict.ok and verdict.first_broken_seq == 3 and "edited" in verdict.reason


def test_a_deleted_entry_is_named() -> None:
    log = _log()
    del log[2]
    verdict = verify(log)
    assert not verdict.ok and verdict.first_broken_seq == 3 and "deleted" in verdict.reason


def test_reordered_entries_are_named() -> None:
    log = _log()
    log[1], log[3] = log[3], log[1]
    verdict = verify(log)
    assert not verdict.ok and verdict.first_broken_seq == 2


def test_a_rehashed_edit_still_breaks_the_link_to_the_next_entry() -> None:
    from lineage.audit import entry_hash

    log = _log()
    forged = {**log[2], "detail": '{"rows":999}'}
    forged["hash"] = entry_hash(forged["prev_hash"], forged)
    log[2] = forged
    verdict = verify(log)
    assert not verdict.ok and verdict.first_broken_seq == 4
    assert "does not link" in verdict.reason


def test_entries_no_anchor_vouches_for_are_found() -> None:
    from lineage.audit_anchor import Anchor, unvouched

    def a(seq: int, since: int | None) -> Anchor:
        return Anchor("t", seq, "h", since)

    assert unvouched(0, []) == []
    assert unvouched(3, []) == [(1, 3)]
    # anchors from before `since` existed vouch for everything after the one before
    assert unvouched(5, [a(2, None), a(5, None)]) == []
    assert unvouched(9, [a(4, 1), a(9, 6)]) == [(5, 5)]  # entry 5: written by no anchor's writer
    assert unvouched(9, [a(4, 1), a(6, 5)]) == [(7, 9)]  # a tail after the last anchor
    assert unvouched(9, [a(4, 1), a(9, 6), a(10, 5)]) == []  # acknowledged from 5 on
