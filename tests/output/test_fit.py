"""The fitting arithmetic, at its boundaries: a cut output is never one character over its budget,
never one entry short of what fits, and its note counts exactly what was left out."""
from aliassync.output import fit


def frame(shown):
    return ("", "")


def counted(total):
    """A frame that says how many it shows, as the renderers' folded sections do."""
    return lambda shown: (f"<summary>{fit.shown_of(shown, total)}</summary>\n", "\n</details>\n")


def test_the_budget_keeps_a_margin_under_githubs_limit():
    assert (fit.GITHUB_COMMENT_LIMIT, fit.BUDGET) == (65_536, 64_000)


def test_a_part_is_its_entries_and_the_joiners_between_them():
    assert fit.Part(["ab", "c", "def"], frame, joiner="--").size() == 2 + 1 + 3 + 2 * 2
    assert fit.Part(["ab"], frame).size() == 2
    assert fit.Part([], frame).size() == 0
    assert fit.Part([], counted(0)).rendered(0) == ""


def test_the_frame_is_measured_at_its_widest_count():
    assert fit.Part([], counted(0)).frame_size() == 0
    # 11 entries: "10 of 11 shown" is the widest a cut can say, "11" when whole
    part = fit.Part(["x"] * 11, counted(11))
    assert part.frame_size() == fit.width("".join(counted(11)(10))) > fit.width("".join(counted(11)(9)))
    thousand = fit.Part(["x"] * 1_000, counted(1_000))
    assert thousand.frame_size() == fit.width("".join(counted(1_000)(999)))
    whole_widest = fit.Part(["x"] * 3, lambda shown: ("=" * (50 if shown == 3 else 1), ""))
    assert whole_widest.frame_size() == 50
    # a folded section with nothing shown says so in words: wider than any count
    none_widest = fit.Part(["x"] * 3, lambda shown: ("Not shown here: see the note above." if not shown else "", ""))
    assert none_widest.frame_size() == len("Not shown here: see the note above.")


def test_entries_fit_up_to_the_last_character_of_the_room_and_stop_at_the_first_that_does_not():
    part = fit.Part(["aaaa", "bb", "c"], frame, joiner="\n")
    assert part.fitting(4) == (1, 4)
    assert part.fitting(7) == (2, 7)          # aaaa + joiner + bb, exactly
    assert part.fitting(6) == (1, 4)
    assert part.fitting(9) == (3, 9)
    assert part.fitting(3) == (0, 0)          # never the later, smaller entries past one that does not fit
    assert part.fitting(-1) == (0, 0)
    assert fit.Part(["", "x"], frame, joiner="").fitting(0) == (1, 0)


def test_the_room_goes_to_the_smaller_parts_first_whatever_their_order():
    big = fit.Part(["b" * 9] * 20, frame, joiner="")         # 180 whole
    small = fit.Part(["s" * 10] * 3, frame, joiner="")       # 30 whole
    assert fit.allot([big, small], 100) == [7, 3]             # small whole (30), big the 70 left: 7 of 9
    assert fit.allot([small, big], 100) == [3, 7]
    assert fit.allot([fit.Part(["a"] * 3, frame)], -5) == [0]
    assert fit.allot([], 10) == []


def test_a_whole_output_exactly_at_the_budget_is_not_cut():
    head = "head\n"
    part = fit.Part(["x" * 10] * 3, frame, joiner="\n")
    whole = fit.compose(head, [part], lambda shown: "NOTE\n", budget=5 + 32)
    assert whole == head + "\n".join(["x" * 10] * 3) + "\n" and "NOTE" not in whole
    cut = fit.compose(head, [part], lambda shown: "NOTE\n", budget=5 + 31)
    assert cut.startswith(head + "NOTE\n") and cut.count("x" * 10) == 2


def test_a_cut_output_never_passes_its_budget_when_a_part_that_shows_nothing_keeps_its_widest_count():
    # b shows none of its 10 entries, so the note keeps saying "10 of 10"; a takes all the room left.
    a = fit.Part(["a" * 20] * 100, frame)                    # 2,099 whole: the larger, served last
    b = fit.Part(["b" * 60] * 10, frame)                     # 609 whole
    head = "head\n"

    def note(shown):
        return fit.cut_note([("a", shown[0], 100), ("b", shown[1], 10)], "W")

    budget = fit.width(head) + fit.width(note([0, 0])) + 60
    out = fit.compose(head, [a, b], note, budget=budget)
    assert fit.width(out) <= budget
    assert out.count("a" * 20) == 2 and "b" * 60 not in out     # 3 would need 62
    assert "98 of 100 a and 10 of 10 b not shown here" in out


def test_the_note_names_only_what_was_cut_in_plain_english():
    assert fit.left_out([("actions", 5, 5), ("warnings", 1, 3)]) == "2 of 3 warnings"
    assert fit.left_out([("actions", 1, 5), ("warnings", 3, 3)]) == "4 of 5 actions"
    assert fit.left_out([("a", 0, 2), ("b", 1, 2)]) == "2 of 2 a and 1 of 2 b"
    assert fit.left_out([("a", 0, 1_000), ("b", 1, 2), ("c", 0, 3)]) == "1,000 of 1,000 a, 1 of 2 b and 3 of 3 c"
    assert fit.left_out([("a", 2, 2)]) == ""
    assert fit.shown_of(1_234, 1_234) == "1,234" and fit.shown_of(120, 1_234) == "120 of 1,234 shown"


def test_a_long_text_is_clipped_at_its_last_separator_within_the_limit():
    tail = "; … (cut here; the whole in the full output)"
    assert fit.clipped("abc; def", 8) == "abc; def"                       # exactly the limit: whole
    assert fit.clipped("abc; def; ghi", 8) == "abc" + tail
    assert fit.clipped("abcdefghij", 4) == "abcd" + tail                 # no separator: a hard cut
    assert fit.clipped("; abcdefgh", 6) == "; abcd" + tail               # a separator only at 0: hard cut
    assert fit.clipped("a; bcdefgh", 5) == "a" + tail                    # at 1: a cut there
    assert fit.clipped("a, b, c, d", 6, sep=", ") == "a, b" + ", … (cut here; the whole in the full output)"
