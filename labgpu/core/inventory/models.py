"""Matching GPU model names the way the CLI contract says (README *Using it*)."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z0-9]+")


def model_matches(query: str, model_name: str) -> bool:
    """True if ``query`` selects ``model_name``.

    ``A40`` selects ``NVIDIA A40`` but not ``NVIDIA RTX A4000``: every word of the query must
    be a whole word of the name (case-insensitive). The full name works too.
    """
    q_words = [w.lower() for w in _WORD.findall(query)]
    if not q_words:
        return False
    name_words = {w.lower() for w in _WORD.findall(model_name)}
    return all(w in name_words for w in q_words)
