"""The smart environment ``env``: a floor plan of zones and the items placed in them.

A :class:`FloorPlan` is a networkx graph of zones (rooms, halls, workstations) with node ids
0..N-1 (Mesa 3.3.1's network visualisation needs them), capacities and areas per zone and
walking minutes per edge, plus arrays describing the items (exhibits) that users visit. It is
built by a seeded generator (:func:`generate_floor`) or loaded from a JSON or GraphML file
(:func:`load_floor`), and always validated (:func:`validate_floor`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import mesa
import networkx as nx
import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import shortest_path

from cpss.kit.config import ConfigError, file_error
from cpss.kit.limits import check_memory

BROWSING_SPEED_M_PER_MIN = 0.8 * 60.0
"""Walking speed between exhibits, 0.8 m/s (calibration-museum.md §9, an assumption)."""


@dataclasses.dataclass
class FloorPlan:
    """Zones, their connections and the items inside them.

    Attributes:
        graph: Undirected zone graph, node ids 0..N-1; node attributes ``name``, ``area``,
            ``capacity`` (hard cap), ``comfort`` (comfortable capacity), ``pos``; edge
            attribute ``walk_min``.
        entrance: Zone id where users arrive and leave.
        dist_min: (N, N) shortest walking minutes between zones.
        item_zone: (M,) zone of each item.
        item_features: (M, T) non-negative topic features with unit L2 norm per row.
        item_attraction: (M,) intrinsic attraction / quality in [0, 1].
        item_capacity: (M,) how many users can view an item at once.
        item_dwell: (M,) median viewing time in minutes.
        item_names: Names of the items.
        topics: Names of the T topics.
    """

    graph: nx.Graph
    entrance: int
    dist_min: np.ndarray
    item_zone: np.ndarray
    item_features: np.ndarray
    item_attraction: np.ndarray
    item_capacity: np.ndarray
    item_dwell: np.ndarray
    item_names: list[str]
    topics: list[str]

    @property
    def n_zones(self) -> int:
        """Number of zones."""
        return self.graph.number_of_nodes()

    @property
    def n_items(self) -> int:
        """Number of items."""
        return int(self.item_zone.shape[0])

    @property
    def zone_capacity(self) -> np.ndarray:
        """(N,) hard capacity per zone."""
        return np.array([self.graph.nodes[z]["capacity"] for z in range(self.n_zones)], dtype=int)

    @property
    def zone_comfort(self) -> np.ndarray:
        """(N,) comfortable capacity per zone (crowding starts above it)."""
        return np.array([self.graph.nodes[z]["comfort"] for z in range(self.n_zones)], dtype=float)

    @property
    def zone_area(self) -> np.ndarray:
        """(N,) area per zone in square metres."""
        return np.array([self.graph.nodes[z]["area"] for z in range(self.n_zones)], dtype=float)

    @property
    def zone_names(self) -> list[str]:
        """Zone names in id order."""
        return [str(self.graph.nodes[z]["name"]) for z in range(self.n_zones)]

    @property
    def positions(self) -> dict[int, tuple[float, float]]:
        """Zone id -> (x, y) layout coordinates."""
        return {z: tuple(self.graph.nodes[z]["pos"]) for z in range(self.n_zones)}


def generate_floor(
    rng: np.random.Generator,
    *,
    rooms: int,
    items: int,
    topics: int,
    room_area: float = 80.0,
    comfort_m2: float = 5.0,
    hard_m2: float = 1.4,
    extra_door_share: float = 0.3,
    n_stars: int = 1,
    dwell_median_min: float = 1.0,
) -> FloorPlan:
    """Generate a museum-like floor: rooms on a grid joined by a random spanning tree.

    Rooms sit on a near-square grid; doors are a random spanning tree of the grid plus a share
    of extra doors, so the plan is connected with some loops. Room 0 is the entrance hall
    (no items). Each other room has a theme topic; an item's features mix its room's theme
    with a random topic mix. Every draw comes from ``rng``; networkx gets seeds from it too.

    Args:
        rng: The model's generator.
        rooms: Number of zones (>= 2).
        items: Number of items (>= 1).
        topics: Number of topics (>= 1).
        room_area: Area of each room in m².
        comfort_m2: Area per person below which a room feels crowded.
        hard_m2: Area per person at the safety cap.
        extra_door_share: Share of non-tree grid edges that become doors.
        n_stars: Number of star items (high attraction, queues form).
        dwell_median_min: Median viewing time of an ordinary item in minutes.

    Returns:
        A validated floor plan.
    """
    if rooms < 2 or items < 1 or topics < 1:
        raise ConfigError("floor: need rooms >= 2, items >= 1 and topics >= 1")
    cols = int(np.ceil(np.sqrt(rooms)))
    grid = nx.grid_2d_graph(int(np.ceil(rooms / cols)), cols)
    cells = sorted(grid.nodes)[:rooms]
    grid = grid.subgraph(cells).copy()
    for u, v in grid.edges:
        grid.edges[u, v]["weight"] = float(rng.random())
    tree = nx.minimum_spanning_tree(grid, weight="weight")
    extra = [e for e in grid.edges if not tree.has_edge(*e)]
    rng.shuffle(extra)
    tree.add_edges_from(extra[: round(extra_door_share * len(extra))])
    side = float(np.sqrt(room_area))
    graph = nx.Graph()
    for i, cell in enumerate(cells):
        name = "Entrance hall" if i == 0 else f"Room {i}"
        graph.add_node(
            i,
            name=name,
            area=room_area,
            capacity=max(1, int(room_area / hard_m2)),
            comfort=room_area / comfort_m2,
            pos=(float(cell[1]) * side, -float(cell[0]) * side),
        )
    index = {cell: i for i, cell in enumerate(cells)}
    for u, v in tree.edges:
        graph.add_edge(index[u], index[v], walk_min=side / BROWSING_SPEED_M_PER_MIN)

    theme = rng.integers(0, topics, size=rooms)
    item_zone = rng.integers(1, rooms, size=items)
    mix = rng.dirichlet(np.full(topics, 0.5), size=items)
    feats = 0.6 * np.eye(topics)[theme[item_zone]] + 0.4 * mix
    attraction = rng.beta(2.0, 4.0, size=items)
    capacity = rng.integers(3, 9, size=items)
    dwell = dwell_median_min * np.exp(rng.normal(0.0, 0.3, size=items))
    stars = rng.choice(items, size=min(n_stars, items), replace=False)
    attraction[stars] = 0.95
    capacity[stars] = 6
    dwell[stars] = 0.5  # a short look, as at a star painting (calibration: ~30 s)
    return make_floor(
        graph,
        entrance=0,
        item_zone=item_zone,
        item_features=feats,
        item_attraction=attraction,
        item_capacity=capacity,
        item_dwell=dwell,
        item_names=[f"Exhibit {j}" for j in range(items)],
        topics=[f"topic {t}" for t in range(topics)],
    )


def make_floor(graph: nx.Graph, *, entrance: Any, **items: Any) -> FloorPlan:
    """Validate a zone graph and item arrays and assemble a :class:`FloorPlan`.

    Node ids are relabelled to 0..N-1 in sorted order (the old id is kept as ``name`` when
    no name is given); ``entrance`` and ``item_zone`` may use the old ids.

    Args:
        graph: The zone graph (any hashable node ids).
        entrance: Entrance node id (old id).
        **items: ``item_zone`` (old ids), ``item_features``, ``item_attraction``,
            ``item_capacity``, ``item_dwell``, ``item_names``, ``topics``.

    Returns:
        The validated floor plan.
    """
    if graph.number_of_nodes() == 0:
        raise ConfigError("floor: the zone graph is empty")
    if entrance not in graph:
        raise ConfigError(f"floor: entrance {entrance!r} is not a zone")
    if nx.number_of_selfloops(graph):
        raise ConfigError("floor: a zone is connected to itself (self-loop)")
    n, m = graph.number_of_nodes(), len(items["item_zone"])
    check_memory(
        {"zones x zones (walking minutes)": 9.0 * n * n, "zones x items (walking minutes)": 8.0 * n * m},
        what=f"floor ({n} zones, {m} items)",
    )
    order = sorted(graph.nodes, key=str)
    relabel = {old: i for i, old in enumerate(order)}
    g = nx.Graph()
    for old in order:
        attrs = dict(graph.nodes[old])
        attrs.setdefault("name", str(old))
        g.add_node(relabel[old], **attrs)
    for u, v, attrs in graph.edges(data=True):
        g.add_edge(relabel[u], relabel[v], **attrs)
    zones = np.array([relabel.get(z, -1) for z in items["item_zone"]], dtype=int)
    plan = FloorPlan(
        graph=g,
        entrance=relabel[entrance],
        dist_min=np.zeros((0, 0)),
        item_zone=zones,
        item_features=np.asarray(items["item_features"], dtype=float),
        item_attraction=np.asarray(items["item_attraction"], dtype=float),
        item_capacity=np.asarray(items["item_capacity"], dtype=int),
        item_dwell=np.asarray(items["item_dwell"], dtype=float),
        item_names=list(items["item_names"]),
        topics=list(items["topics"]),
    )
    validate_floor(plan, unknown_zones=[z for z in items["item_zone"] if z not in relabel])
    norms = np.linalg.norm(plan.item_features, axis=1, keepdims=True)
    plan.item_features = plan.item_features / np.maximum(norms, 1e-12)
    plan.dist_min = walking_minutes(g)
    return plan


def walking_minutes(graph: nx.Graph) -> np.ndarray:
    """(N, N) shortest walking minutes between the zones of a validated graph with ids 0..N-1.

    Dijkstra from every zone over the sparse door graph (scipy's ``csgraph``, in C), weighted by
    ``walk_min`` (a door of 0 minutes is still a door). Floor plans are sparse (a few doors per
    zone), so this costs O(N·E·log N) instead of Floyd–Warshall's O(N³): 2 000 rooms in a quarter
    of a second instead of 16 s. Sums along a path may differ from Floyd–Warshall's in the last
    bit (the additions are grouped differently).

    Args:
        graph: Undirected zone graph, node ids 0..N-1, edge attribute ``walk_min`` >= 0.

    Returns:
        The distance table (``inf`` between disconnected zones, 0 on the diagonal).
    """
    n = graph.number_of_nodes()
    edges = np.array([(u, v) for u, v in graph.edges], dtype=np.int64).reshape(-1, 2)
    weights = np.array([float(w) for _, _, w in graph.edges(data="walk_min")], dtype=float)
    doors = coo_array((weights, (edges[:, 0], edges[:, 1])), shape=(n, n))
    return shortest_path(doors.tocsr(), method="D", directed=False)


def validate_floor(plan: FloorPlan, unknown_zones: list[Any] | None = None) -> None:
    """Raise :class:`ConfigError` with a one-line message if the plan is unusable."""
    g = plan.graph
    if not nx.is_connected(g):
        parts = nx.number_connected_components(g)
        raise ConfigError(f"floor: the floor plan is disconnected ({parts} separate parts)")
    for z in g.nodes:
        attrs = g.nodes[z]
        for key in ("area", "capacity"):
            if key not in attrs or not float(attrs[key]) > 0:
                raise ConfigError(f"floor: zone {attrs.get('name', z)!r}: {key} must be > 0")
        attrs.setdefault("comfort", float(attrs["area"]) / 5.0)
        attrs.setdefault("pos", (float(z), 0.0))
    for u, v, attrs in g.edges(data=True):
        if not float(attrs.setdefault("walk_min", 0.2)) >= 0:
            raise ConfigError(f"floor: edge {u}-{v}: walk_min must be >= 0")
    if unknown_zones:
        raise ConfigError(f"floor: item placed in unknown zone {unknown_zones[0]!r}")
    m = plan.item_zone.shape[0]
    if m == 0:
        raise ConfigError("floor: no items")
    if plan.item_features.shape != (m, len(plan.topics)):
        raise ConfigError("floor: item features must have one column per topic")
    if (plan.item_features < 0).any() or not plan.item_features.sum(axis=1).all():
        raise ConfigError("floor: item topic features must be >= 0 and not all zero")
    if (plan.item_capacity <= 0).any():
        raise ConfigError("floor: item capacity must be > 0")
    if (plan.item_dwell <= 0).any():
        raise ConfigError("floor: item dwell time must be > 0")


def load_floor(path: str | Path) -> FloorPlan:
    """Load a floor plan from JSON (zones, doors and items) or GraphML (zones and doors).

    JSON layout::

        {"topics": ["art", ...], "entrance": "Hall",
         "zones": [{"name": "Hall", "area": 120, "capacity": 80, "pos": [0, 0]}, ...],
         "doors": [{"a": "Hall", "b": "Egypt", "walk_min": 0.3}, ...],
         "items": [{"name": "Mask", "zone": "Egypt", "topics": [0.9, 0.1],
                    "attraction": 0.8, "capacity": 5, "dwell_min": 1.0}, ...]}

    GraphML: zone nodes carry ``area`` and ``capacity`` (optional ``x``, ``y``, and
    ``entrance=true`` on one of them), edges between zones an optional ``walk_min``; item
    nodes carry ``kind="item"``, ``zone`` (a zone's id), ``topics`` (comma-separated weights)
    and optional ``attraction``, ``capacity``, ``dwell_min``.

    Args:
        path: The file.

    Returns:
        The validated floor plan.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: floor plan file not found")
    try:
        doc = _graphml_doc(path) if path.suffix.lower() == ".graphml" else json.loads(path.read_text(encoding="utf-8"))
        g = nx.Graph()
        for z in doc["zones"]:
            g.add_node(
                z["name"],
                name=z["name"],
                area=z["area"],
                capacity=z["capacity"],
                comfort=z.get("comfort", z["area"] / 5.0),
                pos=tuple(z.get("pos", (0, 0))),
            )
        for d in doc["doors"]:
            if d["a"] not in g or d["b"] not in g:
                raise ConfigError(f"{path}: door {d['a']}-{d['b']} names an unknown zone")
            g.add_edge(d["a"], d["b"], walk_min=float(d.get("walk_min", 0.2)))
        items = doc["items"]
        plan = make_floor(
            g,
            entrance=doc["entrance"],
            item_zone=[it["zone"] for it in items],
            item_features=[it["topics"] for it in items],
            item_attraction=[it.get("attraction", 0.5) for it in items],
            item_capacity=[it.get("capacity", 5) for it in items],
            item_dwell=[it.get("dwell_min", 1.0) for it in items],
            item_names=[it["name"] for it in items],
            topics=list(doc["topics"]),
        )
        plan.zone_capacity, plan.zone_comfort, plan.zone_area  # noqa: B018 - a number too large fails here
        return plan
    except ConfigError as exc:
        if str(exc).startswith(f"{path}: "):
            raise
        raise ConfigError(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, nx.NetworkXError) as exc:
        raise file_error(path, exc, "JSON") from None
    except KeyError as exc:
        raise ConfigError(f"{path}: missing key {exc.args[0]!r}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid JSON: nested too deeply") from None
    except (TypeError, ValueError, OverflowError) as exc:
        if "integer string conversion" in str(exc):
            raise file_error(path, exc, "JSON") from None
        detail = "a number is too large" if isinstance(exc, OverflowError) else " ".join(str(exc).split())
        raise ConfigError(f"{path}: malformed floor plan: {detail}") from None


def _graphml_doc(path: Path) -> dict[str, Any]:
    """Translate a GraphML floor plan into the JSON layout read by :func:`load_floor`."""
    try:
        g = nx.read_graphml(path)
    except Exception as exc:
        raise ConfigError(f"{path}: invalid GraphML: {exc}") from None
    zones, items, doors = [], [], []
    entrance = None
    for node, a in g.nodes(data=True):
        if a.get("kind") == "item":
            weights = [float(w) for w in str(a["topics"]).split(",")]
            items.append(
                {
                    "name": a.get("name", node),
                    "zone": str(a["zone"]),
                    "topics": weights,
                    "attraction": float(a.get("attraction", 0.5)),
                    "capacity": int(a.get("capacity", 5)),
                    "dwell_min": float(a.get("dwell_min", 1.0)),
                }
            )
            continue
        zones.append(
            {
                "name": str(node),
                "area": float(a["area"]),
                "capacity": int(a["capacity"]),
                "pos": [float(a.get("x", 0.0)), float(a.get("y", 0.0))],
            }
        )
        if str(a.get("entrance", "")).lower() in ("true", "1") and entrance is None:
            entrance = str(node)
    zone_ids = {z["name"] for z in zones}
    for u, v, a in g.edges(data=True):
        if u in zone_ids and v in zone_ids:
            doors.append({"a": u, "b": v, "walk_min": float(a.get("walk_min", 0.2))})
    n_topics = len(items[0]["topics"]) if items else 0
    return {
        "zones": zones,
        "doors": doors,
        "items": items,
        "entrance": entrance if entrance is not None else (zones[0]["name"] if zones else ""),
        "topics": [f"topic {t}" for t in range(n_topics)],
    }


class Item(mesa.discrete_space.FixedAgent):
    """An item entity (an exhibit): fixed in its zone's cell; its data lives in the plan.

    Args:
        model: The owning model (must have ``grid`` and ``floor``).
        index: Row in the floor plan's item arrays.
    """

    def __init__(self, model: mesa.Model, index: int) -> None:
        super().__init__(model)
        self.index = int(index)
        self.cell = model.grid[int(model.floor.item_zone[index])]

    @property
    def name(self) -> str:
        """The item's name."""
        return self.model.floor.item_names[self.index]
