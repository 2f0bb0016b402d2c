"""Search over a discretized action set in latent space: (weighted) A*.

A* is the deterministic cousin of MCTS that needs only a heuristic: here the learned
cost-to-go V(z, g) (`hjepa.cost.critic`), or zero for the uninformed baseline (Dijkstra).
Nodes are latent states; an edge holds one of `directions x step_sizes` actions for one
predictor step (k environment steps, cost k). A child whose latent lies within `dedup_radius`
of a node already seen is the same node (deduplication), and a node within `goal_radius` of
the goal latent is the goal. Each expansion predicts all children with one batched call.

`astar` itself is generic (any hashable nodes, any neighbour function) so it can be checked on
a small graph; `AStarPlanner` adapts it to the world model. Children that violate a guardrail
are never added to the graph.
"""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import Callable, Hashable, Iterable

import torch

from ..cost.guardrails import violations
from ..config import ConfigValueError
from .base import Plan, Planner, PlannerConfig, reads_labels


@dataclass
class SearchResult:
    path: list  # actions (edge labels) from the start to the returned node
    nodes: list  # the nodes along the path, start first
    cost: float  # path cost g
    found: bool  # reached a goal node (else: the expanded node closest to the goal by h)
    expanded: int  # nodes expanded


def astar(start: Hashable, neighbours: Callable[[Hashable], Iterable[tuple[Hashable, float, object]]],
          heuristic: Callable[[Hashable], float], is_goal: Callable[[Hashable], bool], max_expansions: int = 10_000,
          weight: float = 1.0) -> SearchResult:
    """Weighted A*: expand by g + weight * h. With weight 1 and an admissible h the first goal
    popped is optimal; weight > 1 trades optimality for fewer expansions."""
    tie = itertools.count()
    g = {start: 0.0}
    parent: dict = {start: (None, None)}
    best_h = (float("inf"), start)  # the generated node nearest the goal by h: the fallback when none is reached
    frontier = [(weight * heuristic(start), next(tie), start)]
    closed, expanded = set(), 0
    while frontier and expanded < max_expansions:
        _, _, node = heapq.heappop(frontier)
        if node in closed:
            continue
        if is_goal(node):
            return _result(node, parent, g[node], True, expanded)
        closed.add(node)
        expanded += 1
        for child, edge_cost, action in neighbours(node):
            new_g = g[node] + edge_cost
            if child not in closed and new_g < g.get(child, float("inf")):
                g[child], parent[child] = new_g, (node, action)
                h = heuristic(child)
                best_h = min(best_h, (h, child), key=lambda item: item[0])
                heapq.heappush(frontier, (new_g + weight * h, next(tie), child))
    node = best_h[1]
    return _result(node, parent, g[node], False, expanded)


def _result(node, parent, cost, found, expanded) -> SearchResult:
    path, nodes = [], [node]
    while parent[node][0] is not None:
        node, action = parent[node]
        path.append(action)
        nodes.append(node)
    return SearchResult(path[::-1], nodes[::-1], cost, found, expanded)


def refuse_pessimism(cfg: PlannerConfig) -> None:
    """Search counts steps, it has no cost to add the disagreement to: it takes the guardrail."""
    if cfg.uncertainty_weight > 0:
        raise ConfigValueError("uncertainty_weight", f"{cfg.name} searches by steps, with no cost to add the disagreement to: "
                               "bound it with a DisagreementBound guardrail (hjepa eval --max-uncertainty) instead")


def action_set(directions: int, step_sizes: tuple[float, ...]) -> torch.Tensor:
    """(directions * len(step_sizes), 2) actions: evenly spaced headings at each step size."""
    angle = torch.arange(directions) * (2 * torch.pi / directions)
    unit = torch.stack([angle.cos(), angle.sin()], dim=-1)
    return torch.cat([s * unit for s in step_sizes])


class LatentGraph:
    """The world model as a graph: node ids index a growing store of latents."""

    def __init__(self, planner: Planner, actions: torch.Tensor, z0: torch.Tensor, z_goal: torch.Tensor, heuristic=None):
        """`planner` predicts the edges (`Planner.step`) and holds the guardrails."""
        model, cfg = planner.model, planner.cfg
        self.planner, self.model, self.cfg, self.guardrails = planner, model, cfg, planner.guardrails
        self.k = getattr(model, "frameskip", 1)
        self.actions = actions.to(z0)  # (M, A)
        self.grouped = self.actions.repeat(1, self.k)  # (M, k*A): each action held for one predictor step
        self.latents = z0[None].clone()  # (nodes, D)
        self.z_goal, self.heuristic = z_goal, heuristic
        self.h = self._h(self.latents)  # heuristic per node, computed in batches as nodes are created

    def _h(self, z: torch.Tensor) -> list[float]:
        return [0.0] * len(z) if self.heuristic is None else self.heuristic(z, self.z_goal).tolist()

    def neighbours(self, node: int):
        parent = self.latents[node]
        children, spread = self.planner.step(parent.expand(len(self.actions), -1), self.grouped)  # one batched step
        safe = ~violations(self.guardrails, self.grouped.reshape(len(self.actions), self.k, -1), self.latents[0], children[:, None],
                           starts=parent.expand(len(self.actions), -1), spread=spread)  # the margin the agent's state allows
        labels, children = safe.nonzero()[:, 0].tolist(), children[safe]
        seen = torch.cdist(children, self.latents).min(dim=1)  # nearest existing node of each child
        among = torch.cdist(children, children)  # children that duplicate each other
        ids, new = [], []
        for i in range(len(children)):
            if float(seen.values[i]) <= self.cfg.dedup_radius:
                ids.append(int(seen.indices[i]))  # already in the graph: the same node
                continue
            twin = next((j for j in new if float(among[i, j]) <= self.cfg.dedup_radius), None)
            ids.append(len(self.latents) + new.index(twin) if twin is not None else len(self.latents) + len(new))
            if twin is None:
                new.append(i)
        if new:
            self.latents = torch.cat([self.latents, children[new]])
            self.h.extend(self._h(children[new]))
        return [(j, float(self.k), label) for label, j in zip(labels, ids) if j != node]


class AStarPlanner(Planner):
    """Replans by (weighted) A* from the current latent. `heuristic(z (N, D), goal (D,)) -> (N,)`
    in environment steps, e.g. a fitted `CostToGo`; None searches uninformed (h = 0)."""

    def __init__(self, model, cfg: PlannerConfig, guardrails=(), heuristic=None):
        super().__init__(model, cfg, guardrails)
        refuse_pessimism(cfg)
        self.heuristic = heuristic
        self.actions = action_set(cfg.directions, cfg.step_sizes)

    @property
    def uses_labels(self) -> bool:
        """Labelled when its heuristic is (a cost-to-go fitted with Bellman targets) or a guardrail is."""
        return reads_labels(self.heuristic) or super().uses_labels

    @torch.no_grad()
    def plan(self, z0: torch.Tensor, z_goal: torch.Tensor) -> Plan:
        cfg = self.cfg
        graph = LatentGraph(self, self.actions, z0, z_goal, self.heuristic)
        at_goal = lambda node: float((graph.latents[node] - z_goal).norm()) <= cfg.goal_radius  # noqa: E731
        result = astar(0, graph.neighbours, graph.h.__getitem__, at_goal, cfg.max_expansions, cfg.search_weight)
        if not result.path:  # already at the goal (safe), or no safe move at all (unsafe): hold still
            return Plan(torch.zeros(1, graph.actions.shape[1], device=z0.device), 0.0, result.expanded, z0[None],
                        safe=result.found)
        imagined = graph.latents[result.nodes[1:]]
        return Plan(graph.actions[result.path], float((imagined[-1] - z_goal).norm()), result.expanded, imagined)
