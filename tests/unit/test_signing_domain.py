"""The signing form's rules and the change between two texts, on generated input (hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.domain.signing import MAX_NAME, SigningForm, form_problems, text_changes

LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines() splits on
lines = st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters=LINE_BREAKS), max_size=12),
                 max_size=15)
names = st.text(min_size=1, max_size=MAX_NAME).filter(lambda s: s.strip() != "")


@given(lines, lines)
def test_the_change_replays_both_texts(old: list[str], new: list[str]) -> None:
    changes = text_changes("\n".join(old), "\n".join(new), context=10_000)
    if "\n".join(old).splitlines() == "\n".join(new).splitlines():
        assert changes == []  # nothing changed: nothing to show
        return
    before = [c.text for c in changes if c.kind in ("same", "removed")]
    after = [c.text for c in changes if c.kind in ("same", "added")]
    assert before == "\n".join(old).splitlines() and after == "\n".join(new).splitlines()
    assert all(c.kind != "gap" for c in changes)


@given(lines)
def test_an_unchanged_text_shows_no_change(text: list[str]) -> None:
    assert text_changes("\n".join(text), "\n".join(text)) == []


@given(lines, lines, st.integers(0, 3))
def test_every_change_is_shown_whatever_the_context(old: list[str], new: list[str], context: int) -> None:
    full = text_changes("\n".join(old), "\n".join(new), context=10_000)
    short = text_changes("\n".join(old), "\n".join(new), context=context)
    changed = [(c.kind, c.text) for c in full if c.kind in ("added", "removed")]
    assert [(c.kind, c.text) for c in short if c.kind in ("added", "removed")] == changed


@given(names, st.text(max_size=50))
def test_accept_needs_a_name_and_the_consent(name: str, title: str) -> None:
    fields = {"decision": "accept", "signer_name": name, "signer_title": title, "consent": "yes"}
    assert form_problems(SigningForm.from_fields(fields)) == {}
    assert set(form_problems(SigningForm.from_fields({**fields, "consent": ""}))) == {"consent"}
    assert set(form_problems(SigningForm.from_fields({**fields, "signer_name": " \t "}))) == {"signer_name"}


@given(st.text(max_size=MAX_NAME), st.text(max_size=2000))
def test_decline_needs_neither_name_nor_consent(name: str, reason: str) -> None:
    form = SigningForm.from_fields({"decision": "decline", "signer_name": name, "reason": reason})
    assert form_problems(form) == {}


@given(st.text(max_size=20).filter(lambda d: d.strip().lower() not in ("accept", "decline")))
def test_any_other_decision_is_refused(decision: str) -> None:
    assert set(form_problems(SigningForm.from_fields({"decision": decision, "signer_name": "A", "consent": "yes"}))) == {"decision"}
