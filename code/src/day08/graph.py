"""Trace and draw the computation graph of an engine ``Value`` (chapter "Debrief: what just happened with micrograd").

No graphviz needed: :func:`draw_graph` lays the graph out in columns with matplotlib, inputs
on the left and the output on the right, like micrograd's ``draw_dot``. Each value is a box
showing its label, ``data`` and ``grad``; each operation is a small circle in front of the
box it produced.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyBboxPatch

from .engine import Value

__all__ = ["trace", "count_autograd_nodes", "draw_graph"]

BOX_W, BOX_H, COL_DX, ROW_DY, OP_R = 2.0, 1.1, 3.4, 1.4, 0.3  # in units of the drawing
INCH = 0.45  # inches per unit: an 8-point label fits a box
SHORT = {"sigmoid": "σ", "relu": "ReLU"}  # operation names that would not fit their circle


def trace(root: Value) -> tuple[list[Value], list[tuple[Value, Value]]]:
    """All nodes that ``root`` depends on, inputs before outputs, and its (input, output) edges.

    Chapter "Debrief: what just happened with micrograd". A node used twice appears once in
    the node list and once per use in the edge list.
    """
    if not isinstance(root, Value):
        raise ValueError(f"trace needs an engine Value, got {type(root).__name__}")
    nodes, edges, seen, stack = [], [], set(), [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            nodes.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            for child in node._prev:
                edges.append((child, node))
                stack.append((child, False))
    return nodes, edges


def count_autograd_nodes(tensor) -> int:
    """How many nodes PyTorch recorded behind ``tensor``: its ``grad_fn`` and every node reachable
    through ``next_functions`` (one ``AccumulateGrad`` per leaf that needs a gradient), each once.

    Chapters "Debrief" and "Why PyTorch" compare it with the size of micrograd's graph (:func:`trace`).
    """
    if not hasattr(tensor, "grad_fn"):
        raise ValueError(f"count_autograd_nodes needs a torch tensor, got {type(tensor).__name__}")
    seen, stack = set(), [tensor.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is not None and fn not in seen:
            seen.add(fn)
            stack.extend(next_fn for next_fn, _ in fn.next_functions)
    return len(seen)


def _layout(nodes: list[Value]) -> dict[int, tuple[int, float]]:
    """Column and row of each node: an operation's column is one more than its inputs' deepest."""
    col = {}
    for n in nodes:  # inputs first, so every child already has a column
        col[id(n)] = 1 + max((col[id(c)] for c in n._prev), default=-1)
    parents: dict[int, list[Value]] = {id(n): [] for n in nodes}
    for n in nodes:
        for c in n._prev:
            parents[id(c)].append(n)
    for n in nodes:  # leaves sit just left of their first use, not all in column 0
        if not n._prev and parents[id(n)]:
            col[id(n)] = min(col[id(p)] for p in parents[id(n)]) - 1
    row: dict[int, float] = {}
    for c in sorted(set(col.values()), reverse=True):  # right to left: order by the parents' rows
        layer = [n for n in nodes if col[id(n)] == c]
        layer.sort(key=lambda n: sum(row[id(p)] for p in parents[id(n)]) / max(len(parents[id(n)]), 1))
        for i, n in enumerate(layer):
            row[id(n)] = (i - (len(layer) - 1) / 2) * ROW_DY
    return {id(n): (col[id(n)], row[id(n)]) for n in nodes}


def draw_graph(root: Value, title: str | None = None, dpi: int = 150) -> plt.Figure:
    """Draw ``root``'s computation graph, each value's data and grad in its box; return the Figure.

    Chapter "Debrief: what just happened with micrograd". Boxes carry the gid ``"value"`` and
    operation circles the gid ``"op"``, so the figure can be checked: one box per node.
    """
    nodes, edges = trace(root)
    pos = _layout(nodes)

    def xy(n):
        c, r = pos[id(n)]
        return c * COL_DX, -r

    xs, ys = [xy(n)[0] for n in nodes], [xy(n)[1] for n in nodes]
    x0 = min(xy(n)[0] - BOX_W / 2 - (0.75 + OP_R if n._prev else 0) for n in nodes) - 0.2
    x1 = max(xs) + BOX_W / 2 + 0.2
    y0, y1 = min(ys) - BOX_H, max(ys) + BOX_H
    fig, ax = plt.subplots(figsize=(INCH * (x1 - x0), INCH * (y1 - y0) + (0.3 if title else 0)), dpi=dpi)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=0.9 if title else 1)
    for n in nodes:
        x, y = xy(n)
        color = "#fde2c4" if n is root else ("#d6e9f8" if not n._prev else "#eeeeee")
        box = FancyBboxPatch(
            (x - BOX_W / 2, y - BOX_H / 2),
            BOX_W,
            BOX_H,
            boxstyle="round,pad=0.04",
            facecolor=color,
            edgecolor="0.3",
            linewidth=0.8,
        )
        box.set_gid("value")
        ax.add_patch(box)
        if n.label:
            ax.text(x, y + 0.3, n.label, ha="center", va="center", fontsize=8, fontweight="bold")
        ax.text(
            x,
            y - (0.12 if n.label else 0),
            f"data {n.data:.4f}\ngrad {n.grad:.4f}",
            ha="center",
            va="center",
            fontsize=8,
        )
        if n._prev:
            ox = x - BOX_W / 2 - 0.75
            op = Circle((ox, y), OP_R, facecolor="white", edgecolor="0.3", linewidth=0.8)
            op.set_gid("op")
            ax.add_patch(op)
            op_name = SHORT.get(n._op, n._op)
            ax.text(ox, y, op_name, ha="center", va="center", fontsize=8 if len(op_name) < 4 else 6)
            ax.annotate("", (x - BOX_W / 2 - 0.04, y), (ox + OP_R, y), arrowprops=dict(arrowstyle="->", color="0.3"))
    uses: dict[tuple[int, int], int] = {}
    for child, parent in edges:
        (cx, cy), (px, py) = xy(child), xy(parent)
        k = uses[id(child), id(parent)] = uses.get((id(child), id(parent)), -1) + 1
        skips = pos[id(parent)][0] - pos[id(child)][0] > 1 and cy == py  # would run through a box
        rad = 0.8 * k if k else (-0.4 if skips else 0.0)  # bend repeated uses and long straight edges
        ax.annotate(
            "",
            (px - BOX_W / 2 - 0.75 - OP_R, py),
            (cx + BOX_W / 2 + 0.04, cy),
            arrowprops=dict(arrowstyle="->", color="0.45", shrinkA=0, shrinkB=1, connectionstyle=f"arc3,rad={rad}"),
        )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return fig
