"""Taking turns inside epochs: the Baton that lets one model train at a time, and the segments."""

from __future__ import annotations

import threading

import pytest

from dsbench.training import Baton, _Stopped, segment_bounds


def test_segments_split_an_epoch_into_near_equal_parts() -> None:
    assert segment_bounds(8, 4) == [2, 4, 6]
    assert segment_bounds(39, 4) == [10, 20, 29]
    assert segment_bounds(3, 4) == [1, 2]  # fewer steps than segments: a step each
    assert segment_bounds(1, 4) == [] and segment_bounds(8, 1) == []


def test_two_threads_take_turns_segment_by_segment() -> None:
    baton = Baton(["normal", "separable"])
    order: list[tuple[str, int]] = []

    def train(me: str, segments: int) -> None:
        baton.wait(me)
        for segment in range(segments):
            if segment:
                baton.hand_over(me)
                baton.wait(me)
            order.append((me, segment))
        baton.leave(me)

    # separable starts its thread first but waits for its turn; normal has one segment more
    threads = [threading.Thread(target=train, args=("separable", 2)),
               threading.Thread(target=train, args=("normal", 3))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert order == [("normal", 0), ("separable", 0), ("normal", 1), ("separable", 1),
                     ("normal", 2)]  # fmt: skip


def test_stop_wakes_a_waiting_thread_and_stops_a_training_one() -> None:
    baton = Baton(["normal", "separable"])
    raised: list[str] = []

    def wait_for_turn() -> None:
        try:
            baton.wait("separable")  # never its turn: normal keeps it
        except _Stopped:
            raised.append("separable")

    thread = threading.Thread(target=wait_for_turn)
    thread.start()
    baton.stop()
    thread.join(10)
    assert raised == ["separable"] and not thread.is_alive()
    with pytest.raises(_Stopped):
        baton.check()  # the training thread's next step
