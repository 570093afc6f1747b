"""A micrograd-style scalar autograd engine (chapter "Debrief: what just happened with micrograd").

Each :class:`Value` holds one number (``data``), the derivative of the final output with
respect to it (``grad``), and how it was made: its inputs (``_prev``), the operation
(``_op``) and a closure ``_backward`` that applies the chain rule for that one operation.
Every operation's backward step sits right beside its forward step. :meth:`Value.backward`
visits the graph in reverse topological order, so a node's ``grad`` is complete before it is
passed on to its inputs. Gradients are *added* (``+=``), so a value used twice gets both
contributions. After karpathy/micrograd, with a few more operations and plain errors.
"""

from __future__ import annotations

import math
from numbers import Real

__all__ = ["Value"]


def _number(x, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, Real):
        raise ValueError(f"{what} must be a real number (int or float), got {type(x).__name__}: {x!r}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{what} must be finite, got {x}")
    return x


class Value:
    """One scalar in a computation graph, with its gradient (chapter "Debrief: what just happened with micrograd")."""

    def __init__(self, data, _children=(), _op: str = "", label: str = ""):
        self.data = _number(data, "Value data")
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(_children)
        self._op = _op
        self.label = label

    @staticmethod
    def _wrap(other) -> Value:
        return other if isinstance(other, Value) else Value(_number(other, "the other operand"))

    def __add__(self, other):
        other = self._wrap(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._wrap(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):
        if isinstance(k, Value):
            raise ValueError(
                "the exponent must be a plain number, not a Value: write x ** 2, "
                "or (y * x.log()).exp() for x ** y with a Value y"
            )
        k = _number(k, "the exponent")
        if self.data == 0 and 0 != k < 1:
            raise ValueError(f"0 ** {k:g} has no finite derivative: with a zero base the exponent must be 0 or >= 1")
        if self.data < 0 and not k.is_integer():
            raise ValueError(f"({self.data}) ** {k} is not a real number: a negative base needs a whole exponent")
        out = Value(self.data**k, (self,), f"**{k:g}")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        if self.data > 709.7:
            raise ValueError(f"exp({self.data}) overflows a float (the largest is about exp(709.7))")
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad  # d/dx e^x = e^x

        out._backward = _backward
        return out

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log is only defined for positive numbers, got log({self.data})")
        out = Value(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data  # d/dx log x = 1/x

        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1 - out.data**2) * out.grad  # tanh' = 1 - tanh^2

        out._backward = _backward
        return out

    def sigmoid(self):
        x = self.data  # two forms, so that e^(-x) never overflows
        s = 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += out.data * (1 - out.data) * out.grad  # d/dx sigma(x) = sigma(x)(1 - sigma(x))

        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward():
            self.grad += (out.data > 0) * out.grad  # slope 1 where x > 0, else 0 (0 at x = 0, as in PyTorch)

        out._backward = _backward
        return out

    def backward(self):
        """Fill in ``grad`` of every node: d(self)/d(node), by the chain rule.

        Call it on the final output (the loss). Gradients accumulate, so
        reset them to 0 before a new backward pass (the "zero_grad" step).
        """
        topo, seen, stack = [], set(), [(self, False)]
        while stack:  # depth-first post-order, without recursion
            node, children_done = stack.pop()
            if children_done:
                topo.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((child, False) for child in node._prev)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()

    # Everything else is made from the operations above.
    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-self._wrap(other))

    def __rsub__(self, other):
        return self._wrap(other) + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        other = self._wrap(other)
        if other.data == 0:
            raise ValueError("division by a Value whose data is 0")
        return self * other**-1

    def __rtruediv__(self, other):
        return self._wrap(other) / self

    def __repr__(self):
        name = f"{self.label}, " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"
