"""day08.engine against torch.autograd (the oracle), as karpathy/micrograd's own tests do."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pytest
import torch
from day08.engine import Value
from day08.graph import count_autograd_nodes, draw_graph, trace
from hypothesis import given, settings
from hypothesis import strategies as st

TOL = dict(rel=1e-9, abs=1e-12)


def both(fn, *xs):
    """Run ``fn`` on engine Values and on float64 tensors; return (ours, theirs) values and grads."""
    vs = [Value(x) for x in xs]
    out = fn(*vs)
    out.backward()
    ts = [torch.tensor(float(x), dtype=torch.float64, requires_grad=True) for x in xs]
    tout = fn(*ts)
    tout.backward()
    return (out.data, [v.grad for v in vs]), (tout.item(), [t.grad.item() for t in ts])


def assert_matches(fn, *xs):
    (val, grads), (tval, tgrads) = both(fn, *xs)
    assert val == pytest.approx(tval, **TOL)
    assert grads == pytest.approx(tgrads, **TOL)


UNARY = {
    "exp": lambda a: a.exp(),
    "log": lambda a: a.log(),
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "relu": lambda a: a.relu(),
    "neg": lambda a: -a,
    "square": lambda a: a**2,
    "cube": lambda a: a**3,
    "sqrt": lambda a: a**0.5,
    "reciprocal": lambda a: a**-1,
    "add const": lambda a: a + 2.5,
    "radd const": lambda a: 2.5 + a,
    "sub const": lambda a: a - 2.5,
    "rsub const": lambda a: 2.5 - a,
    "mul const": lambda a: a * -1.5,
    "rmul const": lambda a: -1.5 * a,
    "div const": lambda a: a / 4.0,
    "rdiv const": lambda a: 4.0 / a,
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@pytest.mark.parametrize("x", [0.7, 1.9, 3.2])
@pytest.mark.parametrize("name", UNARY)
def test_each_unary_op_matches_torch(name, x):
    assert_matches(UNARY[name], x)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu", "neg", "cube", "exp", "mul const", "rdiv const"])
def test_unary_ops_on_negative_inputs_match_torch(name):
    assert_matches(UNARY[name], -1.3)


@pytest.mark.parametrize("name", BINARY)
def test_each_binary_op_matches_torch(name):
    assert_matches(BINARY[name], 1.5, -0.8)


def test_the_tanh_neuron_of_the_debrief_matches_torch():
    def neuron(x1, x2, w1, w2, b):
        return (x1 * w1 + x2 * w2 + b).tanh()

    assert_matches(neuron, 2.0, 0.0, -3.0, 1.0, 6.8813735870195432)


def test_a_node_used_twice_gets_both_contributions():
    assert_matches(lambda a: a * a + a, 3.0)
    (_, grads), _ = both(lambda a: a + a, 3.0)
    assert grads == [2.0]  # d(a + a)/da = 2, not 1: gradients add up


def test_composed_expression_with_every_op_matches_torch():
    def f(a, b, c):
        d = a * b + b**3 - c / a
        e = (d.tanh() + (c * 0.5).sigmoid()) * (a + c).relu()
        return (e * e + 1).log() + (-d).exp() / (1 + c)

    assert_matches(f, 0.9, -0.7, 1.3)


def test_micrograd_sanity_check_matches_torch():
    """The expression from karpathy/micrograd's own test_sanity_check."""

    def f(x):
        z = 2 * x + 2 + x
        q = z.relu() + z * x
        h = (z * z).relu()
        return h + q + q * x

    assert_matches(f, -4.0)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-3, 3, allow_nan=False),
    st.floats(0.1, 3, allow_nan=False),
    st.floats(-3, 3, allow_nan=False),
)
def test_random_inputs_match_torch(a, b, c):
    def f(a, b, c):
        return (a * b).tanh() * c + (b.log() - a / b) ** 2 + (c - a).sigmoid() * b.exp()

    assert_matches(f, a, b, c)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=12))
def test_sum_of_squares_gradient_is_twice_each_input(xs):
    vs = [Value(x) for x in xs]
    total = sum((v**2 for v in vs), Value(0.0))
    total.backward()
    assert [v.grad for v in vs] == pytest.approx([2 * x for x in xs], **TOL)


def test_backward_handles_a_chain_deeper_than_the_recursion_limit():
    x = Value(1.0)
    y = x
    for _ in range(5000):
        y = y + 0.0
    y.backward()
    assert x.grad == 1.0


def test_sigmoid_does_not_overflow_for_large_inputs():
    assert Value(-1000.0).sigmoid().data == pytest.approx(0.0, abs=1e-300)
    assert Value(1000.0).sigmoid().data == 1.0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Value(0.0).log(), "log is only defined for positive numbers"),
        (lambda: Value(-2.0).log(), "log is only defined for positive numbers"),
        (lambda: Value(2.0) ** Value(3.0), "exponent must be a plain number"),
        (lambda: Value(-8.0) ** 0.5, "negative base needs a whole exponent"),
        (lambda: Value(0.0) ** -1, "zero base"),
        (lambda: Value(1.0) / Value(0.0), "division by a Value whose data is 0"),
        (lambda: Value(1000.0).exp(), "overflows"),
        (lambda: Value("3"), "must be a real number"),
        (lambda: Value(True), "must be a real number"),
        (lambda: Value(float("nan")), "must be finite"),
        (lambda: Value(1.0) + "2", "must be a real number"),
        (lambda: Value(1.0) + [2.0], "must be a real number"),
    ],
)
def test_bad_input_raises_a_plain_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_trace_lists_each_node_once_inputs_first():
    a, b = Value(2.0, label="a"), Value(-1.0, label="b")
    c = a * b
    out = c * a + b
    nodes, edges = trace(out)
    assert len(nodes) == len({id(n) for n in nodes}) == 5  # a, b, c, c*a, out
    assert nodes[-1] is out
    order = {id(n): i for i, n in enumerate(nodes)}
    assert all(order[id(child)] < order[id(parent)] for child, parent in edges)
    assert len(edges) == 6


def test_draw_graph_has_one_box_per_node_and_one_circle_per_operation():
    a = Value(3.0, label="a")
    out = (a * a + a).tanh()
    out.backward()
    nodes, _ = trace(out)
    fig = draw_graph(out, title="a small graph")
    try:
        ax = fig.axes[0]
        boxes = [p for p in ax.patches if p.get_gid() == "value"]
        ops = [p for p in ax.patches if p.get_gid() == "op"]
        assert len(boxes) == len(nodes) == 4
        assert len(ops) == sum(1 for n in nodes if n._prev) == 3
        texts = " ".join(t.get_text() for t in ax.texts)
        assert f"grad {a.grad:.4f}" in texts and "tanh" in texts
        assert math.isclose(a.grad, (1 - out.data**2) * (2 * 3.0 + 1))
    finally:
        plt.close(fig)


def test_trace_and_draw_reject_things_that_are_not_values():
    with pytest.raises(ValueError, match="needs an engine Value"):
        trace(torch.tensor(1.0))


def test_count_autograd_nodes_counts_each_operation_and_leaf_once():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([3.0, 4.0], requires_grad=True)
    assert count_autograd_nodes((a * b).sum()) == 4  # SumBackward, MulBackward, two AccumulateGrad
    assert count_autograd_nodes(a * a) == 2  # a used twice: one AccumulateGrad
    assert count_autograd_nodes((a * 2).tanh()) == 3  # a constant records no node
    assert count_autograd_nodes(torch.ones(2)) == 0  # nothing recorded
    with pytest.raises(ValueError, match="needs a torch tensor"):
        count_autograd_nodes(Value(1.0))


STEP_OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "tanh": lambda a, b: a.tanh(),
    "sigmoid": lambda a, b: a.sigmoid(),
    "relu": lambda a, b: a.relu(),
}


def run_program(program, leaves):
    """Apply (op, i, j) steps; i and j index every node made so far, so nodes get reused."""
    nodes = list(leaves)
    for op, i, j in program:
        nodes.append(STEP_OPS[op](nodes[i % len(nodes)], nodes[j % len(nodes)]))
    return nodes[-1]


programs = st.lists(
    st.tuples(st.sampled_from(sorted(STEP_OPS)), st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=10
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=4), programs)
def test_random_graphs_with_reuse_match_torch(xs, program):
    vs = [Value(x) for x in xs]
    out = run_program(program, vs)
    out.backward()
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    tout = run_program(program, ts)
    tout.backward()
    assert out.data == pytest.approx(tout.item(), rel=1e-9, abs=1e-12)
    theirs = [0.0 if t.grad is None else t.grad.item() for t in ts]
    assert [v.grad for v in vs] == pytest.approx(theirs, rel=1e-9, abs=1e-12)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=3), programs)
def test_drawing_a_random_graph_has_one_box_per_node(xs, program):
    out = run_program(program, [Value(x) for x in xs])
    nodes, _ = trace(out)
    fig = draw_graph(out)
    try:
        assert sum(p.get_gid() == "value" for p in fig.axes[0].patches) == len(nodes)
    finally:
        plt.close(fig)
