"""Graph helpers shared by step dependencies and workflow-to-workflow references.

Both the step graph of one spec and the sub-workflow graph across files need a stable order
and, when there is none, the cycle itself so the error can name it (`a -> b -> a`).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

Node = TypeVar("Node", bound=Hashable)


def topological_order(graph: Mapping[Node, Sequence[Node]]) -> list[Node] | None:
    """Nodes after their dependencies (`graph[n]` = what n needs), ties in mapping order; None on a cycle."""
    remaining = {node: sum(1 for dep in deps if dep in graph) for node, deps in graph.items()}
    dependents: dict[Node, list[Node]] = {node: [] for node in graph}
    for node, deps in graph.items():
        for dep in deps:
            if dep in dependents:
                dependents[dep].append(node)
    rank = {node: i for i, node in enumerate(graph)}
    ready = [node for node, count in remaining.items() if count == 0]
    order: list[Node] = []
    while ready:
        ready.sort(key=rank.__getitem__, reverse=True)
        node = ready.pop()
        order.append(node)
        for dependent in dependents[node]:
            remaining[dependent] -= 1
            if remaining[dependent] == 0:
                ready.append(dependent)
    return order if len(order) == len(graph) else None


def find_cycle(graph: Mapping[Node, Sequence[Node]]) -> list[Node] | None:
    """One cycle as a closed path `[a, b, a]`, found by an iterative depth-first search; None if acyclic."""
    state: dict[Node, int] = {}  # 1 = on the current path, 2 = finished
    for root in graph:
        if state.get(root):
            continue
        path: list[Node] = [root]
        stack = [iter(graph[root])]
        state[root] = 1
        while stack:
            dep = next(stack[-1], None)
            if dep is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                return [*path[path.index(dep):], dep]
            if not state.get(dep):
                state[dep] = 1
                path.append(dep)
                stack.append(iter(graph[dep]))
    return None
