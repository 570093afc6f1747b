"""Exercise checks: call one on your own answer, in the book or in Colab.

Each check runs your function, model or loop on inputs where the right answer is known and
stops at the first input where yours differs, saying in plain words what went in, what was
expected and what came out. When everything agrees it prints one line saying so.
"""

from __future__ import annotations


class CheckFailed(AssertionError):
    """Raised by a check with a message that says which input failed and how."""


def _passed(what: str) -> None:
    print(f"All checks passed: {what}.")
