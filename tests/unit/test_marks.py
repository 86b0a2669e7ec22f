"""The server's copy of the marks on a session: bounded, per author, fading."""

from livelens.signalling.marks import MAX_MARKS, MAX_POINTS, Board
from livelens.signalling.messages import parse
from livelens.signalling.ratelimit import MESSAGE_BUDGETS, MessageLimits


def test_strokes_grow_and_shapes_move_their_end() -> None:
    board = Board()
    assert board.start("a", "pen", "pen", "#ffffff", [(0.1, 0.1)], "", 5, now=0)
    assert board.add("a", "pen", [(0.2, 0.2), (0.3, 0.3)])
    assert board.start("a", "arrow", "arrow", "#ffffff", [(0.1, 0.1)], "", 5, now=0)
    assert board.add("a", "arrow", [(0.4, 0.4)])
    assert board.add("a", "arrow", [(0.5, 0.6)])
    by_id = {m["id"]: m for m in board.snapshot(now=0)}
    assert by_id["pen"]["pts"] == [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]
    assert by_id["arrow"]["pts"] == [[0.1, 0.1], [0.5, 0.6]]


def test_agents_only_change_their_own_marks_and_ids_do_not_collide() -> None:
    board = Board()
    assert board.start("a", "m", "pen", "#ffffff", [(0.1, 0.1)], "", 0, now=0)
    assert board.start("b", "m", "pen", "#000000", [(0.9, 0.9)], "", 0, now=0)
    assert not board.start("a", "m", "pen", "#ffffff", [(0.1, 0.1)], "", 0, now=0)
    assert not board.remove("c", "m")
    assert board.remove("b", "m")
    assert [m["from"] for m in board.snapshot(now=0)] == ["a"]


def test_finished_live_marks_fade_pinned_and_frozen_ones_stay() -> None:
    board = Board()
    board.start("a", "fading", "pen", "#ffffff", [(0.1, 0.1)], "", 5, now=0)
    board.start("a", "pinned", "pen", "#ffffff", [(0.1, 0.1)], "", 0, now=0)
    board.end("a", "fading", now=1)
    board.end("a", "pinned", now=1)
    board.freeze()
    board.start("a", "on-still", "circle", "#ffffff", [(0.1, 0.1)], "", 5, now=1)
    board.end("a", "on-still", now=1)
    assert {m["id"] for m in board.snapshot(now=100)} == {"pinned", "on-still"}
    board.unfreeze()
    assert {m["id"] for m in board.snapshot(now=100)} == {"pinned"}


def test_the_board_is_bounded() -> None:
    board = Board()
    for n in range(MAX_MARKS + 5):
        board.start("a", f"m{n}", "pen", "#ffffff", [(0.1, 0.1)], "", 0, now=0)
    assert len(board.snapshot(now=0)) == MAX_MARKS
    board.clear()
    board.start("a", "long", "pen", "#ffffff", [(0.1, 0.1)], "", 0, now=0)
    while board.add("a", "long", [(0.2, 0.2)] * 64):
        pass
    assert len(board.marks["a", "long"].points) <= MAX_POINTS


def test_tool_messages_parse_with_numbers_and_points() -> None:
    raw = '{"v":1,"type":"mark_start","id":"m-1","tool":"text","color":"#FF00aa",'
    raw += '"pts":[[0,1],[0.5,0.25]],"text":"here","fade":8}'
    message = parse(raw, "agent")
    assert message.points("pts") == [(0.0, 1.0), (0.5, 0.25)]
    assert message.number("fade") == 8.0
    quality = parse('{"v":1,"type":"quality","level":"good","kbps_in":900,"kbps_out":0,'
                    '"loss":0.5,"rtt":40}', "customer")  # fmt: skip
    assert quality.number("rtt") == 40.0


def test_message_classes_have_their_own_budgets() -> None:
    limits = MessageLimits()
    marks, _ = MESSAGE_BUDGETS["marks"]
    assert all(limits.allow("marks", 0) for _ in range(int(marks)))
    assert not limits.allow("marks", 0)
    assert limits.allow("chat", 0)  # a stroke does not eat the chat's budget
    assert limits.allow("marks", 1)  # and it comes back with time
