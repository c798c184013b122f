"""Globally unique physical names: readable, within limits, stable, and distinct."""

from __future__ import annotations

import re

from components.naming import unique_alnum_name


def test_name_is_readable_lowercase_alnum_within_the_limit():
    name = unique_alnum_name("Prod", "main-eu", "models", max_length=24)
    assert re.fullmatch(r"prodmaineumodels[0-9a-f]{6}", name)


def test_long_parts_are_cut_but_the_hash_keeps_names_apart():
    first = unique_alnum_name("production", "inference-cluster", "a", max_length=24)
    second = unique_alnum_name("production", "inference-cluster", "b", max_length=24)
    assert len(first) == len(second) == 24
    assert first[:18] == second[:18] and first != second


def test_same_parts_give_the_same_name():
    assert unique_alnum_name("dev", "main", max_length=24) == unique_alnum_name("dev", "main", max_length=24)
    # Joining is not ambiguous: ("ab", "c") and ("a", "bc") differ.
    assert unique_alnum_name("ab", "c", max_length=24) != unique_alnum_name("a", "bc", max_length=24)
