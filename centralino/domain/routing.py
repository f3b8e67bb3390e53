"""Who serves whom: requirement relaxation over waiting time, agent scoring, and the greedy choice of agents
for waiting items (by priority, then waiting time). Pure and fast: agents are indexed by skill and by
department once per round, so one decision looks only at agents who could take the item.

Scoring among eligible agents: the customer's previous agent first (stickiness), then the lowest load
ratio for the item's channel kind (spare capacity), then the longest idle (an agent who just got work ranks
after everyone idle).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from centralino.domain.routing_rules import QueueSpec, SkillRequirement


class PresenceState(StrEnum):
    ONLINE = "online"  # takes new work
    BUSY = "busy"  # keeps their work, takes no new work
    AWAY = "away"  # un-answered work is re-routed
    OFFLINE = "offline"  # un-answered work is re-routed

    @classmethod
    def parse(cls, value: str) -> PresenceState | None:
        try:
            return cls(value)
        except ValueError:
            return None


# States in which an agent's un-answered (offered) items go back to the queue.
RELEASING_STATES = frozenset({PresenceState.AWAY, PresenceState.OFFLINE})


@dataclass(frozen=True)
class Requirement:
    step: int  # relaxation steps applied (0: the queue's own requirement)
    skills: tuple[SkillRequirement, ...]
    department_id: int | None
    overflow: bool = False


def requirement_at(queue: QueueSpec, waited_s: float) -> Requirement:
    """The requirement after `waited_s` seconds in the queue: every step whose after_s has passed applies."""
    skills = queue.required
    step_no = 0
    overflow = False
    for i, step in enumerate(queue.relaxation, start=1):
        if waited_s < step.after_s:
            break
        step_no = i
        if step.min_level is not None:
            cap = step.min_level
            skills = tuple(SkillRequirement(s.skill, min(s.min_level, cap)) for s in skills)
        if step.any_department_agent:
            skills = ()
        if step.overflow and queue.overflow_queue_id is not None:
            overflow = True
    return Requirement(step_no, skills, queue.department_id, overflow)


@dataclass(frozen=True)
class AgentState:
    user_id: int
    skills: Mapping[str, int]
    departments: frozenset[int]
    capacity: Mapping[str, int]  # max active per channel kind
    active: Mapping[str, int]  # current active per channel kind
    idle_since: datetime | None = None


@dataclass(frozen=True)
class WaitingItem:
    id: int
    queue_id: int
    channel_kind: str
    priority: int
    waiting_since: datetime  # since it entered its current queue (relaxation counts from here)
    previous_agent_id: int | None = None
    excluded: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Decision:
    item_id: int
    agent_id: int
    requirement: Requirement


@dataclass(frozen=True)
class RoundResult:
    decisions: tuple[Decision, ...]
    overflow: tuple[int, ...] = ()  # item ids whose queue's overflow step is due


def meets(agent_skills: Mapping[str, int], skills: Iterable[SkillRequirement]) -> bool:
    return all(agent_skills.get(s.skill, 0) >= s.min_level for s in skills)


@dataclass
class _Agent:
    state: AgentState
    active: dict[str, int]
    idle_rank: float


@dataclass
class Router:
    """One routing round's view of the agents; `pick` takes a slot on the chosen agent, so successive picks
    in the round see the load they created.

    Per requirement (skills, department, channel kind) a heap of the agents meeting it, by score, is built on
    first use: within a round scores only grow (load up, no longer idle), so a popped entry whose score is
    stale is pushed back with its current score and full agents are dropped. A decision is O(log agents)."""

    agents: Sequence[AgentState]
    by_id: dict[int, _Agent] = field(init=False)
    by_skill: dict[str, list[tuple[int, int]]] = field(init=False)  # skill -> [(level, agent)] level desc
    by_department: dict[int | None, list[int]] = field(init=False)
    _heaps: dict[tuple[object, ...], list[tuple[float, float, int]]] = field(init=False)
    _taken: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.by_id = {}
        self.by_skill = {}
        self.by_department = {None: []}
        self._heaps = {}
        for a in self.agents:
            idle = a.idle_since.timestamp() if a.idle_since else 0.0
            self.by_id[a.user_id] = _Agent(a, dict(a.active), idle)
            self.by_department[None].append(a.user_id)
            for d in a.departments:
                self.by_department.setdefault(d, []).append(a.user_id)
            for skill, level in a.skills.items():
                self.by_skill.setdefault(skill, []).append((level, a.user_id))
        for entries in self.by_skill.values():
            entries.sort(key=lambda e: (-e[0], e[1]))

    def _fits(self, agent: _Agent, kind: str, req: Requirement) -> bool:
        if agent.active.get(kind, 0) >= agent.state.capacity.get(kind, 0):
            return False
        if req.department_id is not None and req.department_id not in agent.state.departments:
            return False
        return meets(agent.state.skills, req.skills)

    def _candidates(self, req: Requirement) -> Iterable[int]:
        if not req.skills:
            return self.by_department.get(req.department_id, ())
        # the rarest required skill narrows the search most; its list is sorted by level, best first
        narrow = min(req.skills, key=lambda s: len(self.by_skill.get(s.skill, ())))
        entries = self.by_skill.get(narrow.skill, [])
        return (agent_id for level, agent_id in entries if level >= narrow.min_level)

    @staticmethod
    def _score(agent: _Agent, kind: str) -> tuple[float, float]:
        """Lower is better: the load ratio for the kind (spare capacity), then the longest idle."""
        return agent.active.get(kind, 0) / agent.state.capacity[kind], agent.idle_rank

    def _heap(self, kind: str, req: Requirement) -> list[tuple[float, float, int]]:
        key = (kind, req.skills, req.department_id)
        heap = self._heaps.get(key)
        if heap is None:
            heap = [(*self._score(a, kind), a.state.user_id)
                    for a in (self.by_id[i] for i in self._candidates(req)) if self._fits(a, kind, req)]
            heapq.heapify(heap)
            self._heaps[key] = heap
        return heap

    def pick(self, item: WaitingItem, req: Requirement) -> int | None:
        """The best eligible agent for the item under `req` (its slot taken), or None."""
        kind = item.channel_kind
        sticky = self.by_id.get(item.previous_agent_id) if item.previous_agent_id is not None else None
        if sticky is not None and sticky.state.user_id not in item.excluded and self._fits(sticky, kind, req):
            return self._take(sticky, kind)
        heap = self._heap(kind, req)
        set_aside: list[tuple[float, float, int]] = []
        chosen: _Agent | None = None
        while heap:
            ratio, idle, agent_id = heap[0]
            agent = self.by_id[agent_id]
            if agent.active.get(kind, 0) >= agent.state.capacity.get(kind, 0):
                heapq.heappop(heap)  # full for the rest of the round
                continue
            current = self._score(agent, kind)
            if current != (ratio, idle):
                heapq.heapreplace(heap, (*current, agent_id))
                continue
            if agent_id in item.excluded:
                set_aside.append(heapq.heappop(heap))
                continue
            chosen = agent
            break
        for entry in set_aside:
            heapq.heappush(heap, entry)
        return None if chosen is None else self._take(chosen, kind)

    def new_round(self) -> None:
        """Loads may have dropped since the last round (release): the heaps are rebuilt on demand."""
        self._heaps.clear()

    def release(self, agent_id: int, kind: str, now: datetime) -> None:
        """The agent finished an item (a router kept in memory across rounds; call new_round after)."""
        agent = self.by_id.get(agent_id)
        if agent is not None:
            agent.active[kind] = max(0, agent.active.get(kind, 0) - 1)
            agent.idle_rank = now.timestamp()

    def _take(self, agent: _Agent, kind: str) -> int:
        agent.active[kind] = agent.active.get(kind, 0) + 1
        # just got work: no longer idle, ranks after everyone idle (in the order they got work)
        self._taken += 1
        agent.idle_rank = 1e12 + self._taken
        return agent.state.user_id


def order(items: Iterable[WaitingItem]) -> list[WaitingItem]:
    """Priority first (higher first), then the longest waiting, then the oldest id."""
    return sorted(items, key=lambda i: (-i.priority, i.waiting_since, i.id))


def choose(items: Iterable[WaitingItem], agents: Sequence[AgentState], queues: Mapping[int, QueueSpec],
           now: datetime) -> RoundResult:
    """Assign greedily: each item in order gets the best agent still able to take it."""
    router = Router(agents)
    decisions: list[Decision] = []
    overflow: list[int] = []
    for item in order(items):
        queue = queues.get(item.queue_id)
        if queue is None:
            continue
        req = requirement_at(queue, (now - item.waiting_since).total_seconds())
        if req.overflow:
            overflow.append(item.id)
            continue
        agent_id = router.pick(item, req)
        if agent_id is not None:
            decisions.append(Decision(item.id, agent_id, req))
    return RoundResult(tuple(decisions), tuple(overflow))
