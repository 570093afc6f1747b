"""Build-time checks of what a chapter's prose says a run shows.

A sentence such as "the MLP beats logistic regression" or "the loss oscillates" is an outcome
of the code that ran when the page was built. Each such sentence is backed by a call to
:func:`claim` in a hidden cell (tag ``remove-cell``) right after the run it describes::

    claim("training-loop", "zero-grad-worse",
          "After 100 epochs the loss is ... with zero_grad and ... without.",
          with_zero[-1] < without_zero[-1])

If a later run contradicts the sentence, the cell raises :class:`ClaimFailed`, the build
fails, and the message names the chapter, the check and the sentence to rewrite. The calls
are plain source text with literal arguments, so ``tests/test_claims.py`` lists every
chapter's checks by reading the chapters, without running them.
"""

from __future__ import annotations

__all__ = ["ClaimFailed", "claim"]


class ClaimFailed(AssertionError):
    """A sentence of a chapter says something the build's run did not show."""


def claim(chapter: str, name: str, sentence: str, holds, detail: str = "") -> None:
    """Fail the build unless ``holds`` is true; the message names the chapter and the sentence.

    ``chapter`` is the chapter's file name without ``.md``; ``name`` a short identifier for the
    check, unique in its chapter; ``sentence`` the words of the page the check backs;
    ``detail`` the measured numbers, to help whoever must rewrite the sentence.
    """
    for label, value in (("chapter", chapter), ("name", name), ("sentence", sentence)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"claim(): {label} must be a non-empty string, got {value!r}")
    if not bool(holds):
        extra = f" Measured: {detail}." if detail else ""
        raise ClaimFailed(
            f"book/{chapter}.md, check {name!r}: this run no longer shows what the page says: "
            f"{sentence!r}.{extra} Rewrite the sentence or fix the code it describes."
        )
