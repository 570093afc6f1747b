"""Shared code for the Day 8 book: softmax, cross-entropy, and micrograd to PyTorch.

The chapters import what they need by module, for example
``from day08.functional import softmax``. Each public function's docstring names the
chapter that introduces it.
"""

__version__ = "0.1.0"
