"""Hypothesis strategies more than one test draws from: JSON values of every shape PostgreSQL stores."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def json_texts(max_size: int) -> st.SearchStrategy[str]:
    """Text jsonb can hold: any Unicode but NUL and lone surrogates."""
    return st.text(
        st.characters(codec="utf-8", exclude_characters="\x00", exclude_categories=("Cs",)), max_size=max_size
    )


def json_values(digits: int, text_size: int, max_leaves: int) -> st.SearchStrategy[Any]:
    """Nested JSON: integers of up to `digits` digits, finite floats, texts, lists and objects."""
    numbers = st.integers(-(10**digits), 10**digits) | st.floats(allow_nan=False, allow_infinity=False)
    texts = json_texts(text_size)
    return st.recursive(
        st.none() | st.booleans() | numbers | texts,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=5),
        max_leaves=max_leaves,
    )
