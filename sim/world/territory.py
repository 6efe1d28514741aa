"""Micro-territories, their socio-economic diagnosis and their adjacency graph.

A city is read from a CSV table (one row per territory) or generated from a seed. Every figure
of a table is checked on load; a mistake is reported with the file, the row and the field.

A table may say where each figure comes from: a ``<field>_source`` column next to a field holds a
source id (of the table's comment lines or ``docs/sources.md``), ``illustrative`` or ``derived``.
The loader keeps them (``Territory.sources``) and a city whose figures are not all sourced is
``illustrative``, as is a table without source columns and every generated city.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from sim.errors import TerritoryDataError, did_you_mean, shorten

#: Where the built-in city tables live: package data, so that an installed wheel has them too.
DATA_DIR = Path(__file__).resolve().parent / "data"
#: ``bordeaux``: Bordeaux's quartiers and priority neighbourhoods (QPV), figures sourced where
#: published ones were found; ``bordeaux_scale``: 260,000 simulated residents on 40 illustrative
#: territories, kept as the size for performance.
BUILTIN_CITIES = {
    "demo": "demo_city.csv",
    "bordeaux": "bordeaux_quartiers.csv",
    "bordeaux_scale": "bordeaux_scale.csv",
}

REQUIRED_COLUMNS = (
    "territory_id",
    "name",
    "working_age_population",
    "unemployment_rate",
    "long_term_share",
    "rsa_share",
    "non_french_share",
    "qpv",
    "neighbours",
)
OPTIONAL_COLUMNS = ("x", "y")
#: Suffix of a column saying where the figure of the column it names comes from.
SOURCE_SUFFIX = "_source"
#: What a source column holds for a figure that is not sourced.
ILLUSTRATIVE = "illustrative"
SHARE_COLUMNS = ("unemployment_rate", "long_term_share", "rsa_share", "non_french_share")


@dataclass(frozen=True)
class Territory:
    """One micro-territory and its diagnosis (shares are fractions of its working-age residents,
    except ``long_term_share``, a fraction of its unemployed)."""

    territory_id: str
    name: str
    working_age_population: int
    unemployment_rate: float
    long_term_share: float
    rsa_share: float
    non_french_share: float
    qpv: bool
    neighbours: tuple[str, ...]
    x: float = 0.0
    y: float = 0.0
    #: Where each figure comes from, ``field=source`` joined by `` | `` (empty: not given).
    sources: str = ""
    #: Whether some of its figures are illustrative (or their sources are not given).
    illustrative: bool = True

    def source_of(self) -> dict[str, str]:
        """Each field's source, as the table gave it."""
        pairs = (p.split("=", 1) for p in self.sources.split(" | ") if "=" in p)
        return {k: v for k, v in pairs}


@dataclass(frozen=True)
class City:
    """A set of territories joined by an adjacency graph (nodes are territory indices)."""

    name: str
    territories: tuple[Territory, ...]
    source: str = "generated"

    @property
    def size(self) -> int:
        """Number of territories."""
        return len(self.territories)

    @property
    def illustrative(self) -> bool:
        """Whether some figures of the city are illustrative rather than sourced (what a report
        must say about its results)."""
        return any(t.illustrative for t in self.territories)

    def illustrative_fields(self) -> list[str]:
        """Fields marked illustrative in some territory, or every diagnosis field when the
        table gives no sources."""
        if not any(t.sources for t in self.territories):
            return list(REQUIRED_COLUMNS[2:]) if self.illustrative else []
        marked = {
            field
            for t in self.territories
            for field, source in t.source_of().items()
            if ILLUSTRATIVE in source
        }
        return sorted(marked)

    @property
    def population(self) -> int:
        """Working-age residents in the whole city."""
        return sum(t.working_age_population for t in self.territories)

    def index_of(self, territory_id: str) -> int:
        """Index of a territory from its identifier."""
        for i, t in enumerate(self.territories):
            if t.territory_id == territory_id:
                return i
        raise KeyError(territory_id)

    def graph(self) -> nx.Graph:
        """Adjacency graph over territory indices, with the diagnosis as node attributes."""
        g = nx.Graph()
        ids = {t.territory_id: i for i, t in enumerate(self.territories)}
        for i, t in enumerate(self.territories):
            g.add_node(i, territory_id=t.territory_id, name=t.name, qpv=t.qpv, pos=(t.x, t.y))
        for i, t in enumerate(self.territories):
            for n in t.neighbours:
                g.add_edge(i, ids[n])
        return g

    def column(self, name: str) -> np.ndarray:
        """One diagnosis column as an array over territories."""
        return np.array([getattr(t, name) for t in self.territories])


def city_from_records(name: str, records: Iterable[Mapping[str, Any]]) -> City:
    """A city from stored territory rows (``neighbours`` joined by ``;``), as a results
    database keeps it: no file to find, nothing to validate again."""
    territories = []
    for r in records:
        neighbours = str(r.get("neighbours") or "")
        territories.append(
            Territory(
                territory_id=str(r["territory_id"]),
                name=str(r["name"]),
                working_age_population=int(r["working_age_population"]),
                unemployment_rate=float(r["unemployment_rate"]),
                long_term_share=float(r["long_term_share"]),
                rsa_share=float(r["rsa_share"]),
                non_french_share=float(r["non_french_share"]),
                qpv=bool(r["qpv"]),
                neighbours=tuple(n for n in neighbours.split(";") if n),
                x=float(r.get("x") or 0.0),
                y=float(r.get("y") or 0.0),
                sources=str(r.get("sources") or ""),
                illustrative=bool(r.get("illustrative", True)),
            )
        )
    return City(name=name, territories=tuple(territories), source="stored")


def city_table_path(source: str | Path) -> Path:
    """The file of a built-in city name or a CSV path."""
    if isinstance(source, str) and source in BUILTIN_CITIES:
        return DATA_DIR / BUILTIN_CITIES[source]
    return Path(source)


def load_city(source: str | Path) -> City:
    """Load a city from a built-in name (``demo``, ``bordeaux``) or a CSV path.

    Raises:
        TerritoryDataError: the table is missing, malformed or inconsistent.
    """
    path = city_table_path(source)
    try:
        found = path.is_file()
    except OSError:  # a name too long for the file system
        found = False
    if not found:
        raise TerritoryDataError(
            shorten(str(source))[1:-1],
            None,
            "file",
            "no such file; expected a CSV table "
            f"or one of the built-in cities: {', '.join(BUILTIN_CITIES)}",
        )
    try:
        # utf-8-sig: spreadsheets save "CSV UTF-8" with a byte-order mark.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise TerritoryDataError(
            path.name,
            None,
            "file",
            f"not UTF-8 text (byte {error.start}); save the table as 'CSV UTF-8'",
        ) from None
    except OSError as error:
        raise TerritoryDataError(
            path.name, None, "file", f"cannot read the table: {error.strerror}"
        ) from None
    return parse_city_table(text, source=path.name, name=path.stem)


def parse_city_table(text: str, source: str, name: str) -> City:
    """Parse and check a territory table (CSV text; lines starting with '#' are comments)."""
    lines = text.splitlines()
    data = [(n, line) for n, line in enumerate(lines, start=1) if not line.lstrip().startswith("#")]
    data = [(n, line) for n, line in data if line.strip()]
    if not data:
        raise TerritoryDataError(source, None, "header", "the table is empty")
    header_line, header = data[0]
    columns = [c.strip().lstrip("\ufeff") for c in _csv_row(header, source, header_line)]
    seen_columns: set[str] = set()
    for col in columns:
        if col in seen_columns:
            raise TerritoryDataError(
                source,
                header_line,
                shorten(col)[1:-1],
                "this column appears twice in the header; expected each column once",
            )
        seen_columns.add(col)
    for col in REQUIRED_COLUMNS:
        if col not in columns:
            unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
            unknown = [c for c in unknown if not c.endswith(SOURCE_SUFFIX)]
            close = [u for u in unknown if did_you_mean(u, [col])]
            hint = f" (the header has '{close[0]}': misspelt?)" if close else ""
            raise TerritoryDataError(
                source,
                header_line,
                col,
                f"missing column{hint}; expected columns {', '.join(REQUIRED_COLUMNS)}",
            )
    if len(data) == 1:
        raise TerritoryDataError(
            source,
            header_line,
            "rows",
            "the table has a header but no territory; expected one row per micro-territory",
        )
    territories = []
    for line_no, line in data[1:]:
        values = _csv_row(line, source, line_no)
        if len(values) != len(columns):
            raise TerritoryDataError(
                source,
                line_no,
                "columns",
                f"expected {len(columns)} values (one per column of the header), got {len(values)}",
            )
        record = {c: v.strip() for c, v in zip(columns, values, strict=True)}
        territories.append(_parse_territory(record, source, line_no))
    _check_graph(territories, [n for n, _ in data[1:]], source)
    return City(name=name, territories=tuple(territories), source=source)


def _csv_row(line: str, source: str, line_no: int) -> list[str]:
    """One CSV line's fields; a field the csv module refuses (over its size limit, a stray
    quote or NUL) is reported with the line."""
    try:
        return next(csv.reader([line]), [])
    except csv.Error as error:
        raise TerritoryDataError(
            source, line_no, "line", f"not a valid CSV line: {error}"
        ) from None


def _parse_territory(record: dict[str, str], source: str, line: int) -> Territory:
    def number(field: str) -> float:
        raw = record[field]
        try:
            value = float(raw)
        except ValueError:
            raise TerritoryDataError(
                source, line, field, f"expected a number, got {shorten(raw)}"
            ) from None
        if not np.isfinite(value):
            raise TerritoryDataError(
                source, line, field, f"expected a finite number, got {shorten(raw)}"
            )
        return value

    population = number("working_age_population")
    if population <= 0 or population != int(population):
        raise TerritoryDataError(
            source,
            line,
            "working_age_population",
            f"expected a positive whole number, got {shorten(record['working_age_population'])}",
        )
    shares = {}
    for field in SHARE_COLUMNS:
        value = number(field)
        if not 0.0 <= value <= 1.0:
            raise TerritoryDataError(
                source, line, field, f"expected a share in [0, 1], got {value:g}"
            )
        shares[field] = value
    if shares["rsa_share"] > shares["unemployment_rate"]:
        raise TerritoryDataError(
            source,
            line,
            "rsa_share",
            f"RSA recipients ({shares['rsa_share']:g}) "
            f"cannot exceed the unemployed ({shares['unemployment_rate']:g}) "
            "in this model",
        )
    qpv_raw = record["qpv"].lower()
    if qpv_raw not in ("0", "1", "true", "false", "yes", "no"):
        raise TerritoryDataError(
            source, line, "qpv", f"expected 0/1 or true/false, got {shorten(record['qpv'])}"
        )
    territory_id = record["territory_id"]
    if not territory_id:
        raise TerritoryDataError(
            source, line, "territory_id", "expected an identifier, got nothing"
        )
    neighbours = tuple(n.strip() for n in record["neighbours"].split(";") if n.strip())
    sources = {
        column[: -len(SOURCE_SUFFIX)]: cell
        for column, cell in record.items()
        if column.endswith(SOURCE_SUFFIX)
    }
    for field, cell in sources.items():
        if not cell:
            raise TerritoryDataError(
                source,
                line,
                f"{field}{SOURCE_SUFFIX}",
                f"expected a source id, '{ILLUSTRATIVE}' or 'derived', got nothing",
            )
    given = {f: v for f, v in sources.items() if f in REQUIRED_COLUMNS[2:]}
    return Territory(
        territory_id=territory_id,
        name=record["name"] or territory_id,
        working_age_population=int(population),
        qpv=qpv_raw in ("1", "true", "yes"),
        neighbours=neighbours,
        x=number("x") if record.get("x") else 0.0,
        y=number("y") if record.get("y") else 0.0,
        sources=" | ".join(f"{f}={v}" for f, v in sources.items()),
        # Sourced only if every diagnosis figure names a source that is not illustrative.
        illustrative=len(given) < len(REQUIRED_COLUMNS[2:])
        or any(ILLUSTRATIVE in v for v in given.values()),
        **shares,
    )


def _check_graph(territories: Sequence[Territory], lines: Sequence[int], source: str) -> None:
    seen: dict[str, int] = {}
    for t, line in zip(territories, lines, strict=True):
        if t.territory_id in seen:
            raise TerritoryDataError(
                source,
                line,
                "territory_id",
                f"{shorten(t.territory_id)} is already used on line {seen[t.territory_id]}",
            )
        seen[t.territory_id] = line
    for t, line in zip(territories, lines, strict=True):
        for n in t.neighbours:
            if n not in seen:
                raise TerritoryDataError(
                    source,
                    line,
                    "neighbours",
                    f"unknown neighbour {shorten(n)}; expected identifiers from the "
                    "territory_id column",
                )
            if n == t.territory_id:
                raise TerritoryDataError(
                    source, line, "neighbours", "a territory cannot neighbour itself"
                )


def generate_city(
    n_territories: int,
    residents: int,
    seed: int,
    qpv_share: float = 0.3,
    name: str = "generated",
    rsa: bool = True,
) -> City:
    """Generate an illustrative city: territories on a plane, joined to their nearest neighbours.

    QPV territories get the national QPV unemployment level (ONPV 2023: 18.3 %) and the others the
    surrounding level (7.5 %), each with some spread; all other figures are illustrative.
    """
    if n_territories < 1 or residents < n_territories:
        raise ValueError("need at least one territory and one resident per territory")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(7,)))
    xy = rng.random((n_territories, 2))
    weights = rng.lognormal(0.0, 0.35, n_territories)
    populations = np.maximum(1, np.floor(residents * weights / weights.sum())).astype(int)
    populations[np.argmax(populations)] += residents - populations.sum()
    n_qpv = round(qpv_share * n_territories)
    qpv = np.zeros(n_territories, dtype=bool)
    qpv[rng.choice(n_territories, size=n_qpv, replace=False)] = True
    unemployment = np.where(
        qpv, rng.uniform(0.15, 0.23, n_territories), rng.uniform(0.06, 0.10, n_territories)
    )
    long_term = rng.uniform(0.38, 0.55, n_territories)
    rsa_share = (
        (
            np.where(
                qpv, rng.uniform(0.30, 0.40, n_territories), rng.uniform(0.18, 0.28, n_territories)
            )
            * unemployment
        )
        if rsa
        else 0 * unemployment
    )
    non_french = np.where(
        qpv, rng.uniform(0.08, 0.16, n_territories), rng.uniform(0.02, 0.05, n_territories)
    )
    edges = _nearest_neighbour_edges(xy, k=3)
    ids = [f"T{i + 1:02d}" for i in range(n_territories)]
    territories = tuple(
        Territory(
            territory_id=ids[i],
            name=f"{'QPV' if qpv[i] else 'Quartier'} {ids[i]}",
            working_age_population=int(populations[i]),
            unemployment_rate=round(float(unemployment[i]), 4),
            long_term_share=round(float(long_term[i]), 4),
            rsa_share=round(float(rsa_share[i]), 4),
            non_french_share=round(float(non_french[i]), 4),
            qpv=bool(qpv[i]),
            neighbours=tuple(ids[j] for j in sorted(edges[i])),
            x=round(float(xy[i, 0]), 4),
            y=round(float(xy[i, 1]), 4),
        )
        for i in range(n_territories)
    )
    return City(name=name, territories=territories, source="generated")


def _nearest_neighbour_edges(xy: np.ndarray, k: int) -> list[set[int]]:
    """Symmetric k-nearest-neighbour adjacency, made connected with a minimum spanning tree.

    Small cities use the full distance matrix. Larger ones find the neighbours with a k-d tree
    and the Euclidean minimum spanning tree among the edges of the Delaunay triangulation (which
    contains it): the same edges when distances are distinct, in time and memory that grow as
    n log n instead of n^2 (10,000 territories in well under a second).
    """
    n = len(xy)
    if n <= DENSE_EDGES_UP_TO:
        return _dense_nearest_neighbour_edges(xy, k)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import minimum_spanning_tree
    from scipy.spatial import Delaunay, KDTree, QhullError

    adjacency: list[set[int]] = [set() for _ in range(n)]
    _, nearest = KDTree(xy).query(xy, k=k + 1)
    for i in range(n):
        for j in [int(j) for j in nearest[i] if j != i][:k]:
            adjacency[i].add(j)
            adjacency[j].add(i)
    try:
        triangles = Delaunay(xy).simplices
    except QhullError:  # degenerate positions (all on a line): joggled slightly
        triangles = Delaunay(xy, qhull_options="QJ").simplices
    pairs = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [0, 2]]])
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    lengths = np.linalg.norm(xy[pairs[:, 0]] - xy[pairs[:, 1]], axis=1)
    tree = minimum_spanning_tree(coo_matrix((lengths, (pairs[:, 0], pairs[:, 1])), shape=(n, n)))
    for i, j in zip(*tree.nonzero(), strict=True):
        adjacency[int(i)].add(int(j))
        adjacency[int(j)].add(int(i))
    return adjacency


#: Cities of up to this many territories get their edges from the full distance matrix.
DENSE_EDGES_UP_TO = 200


def _dense_nearest_neighbour_edges(xy: np.ndarray, k: int) -> list[set[int]]:
    """Symmetric k-nearest-neighbour adjacency and minimum spanning tree from all distances."""
    n = len(xy)
    dist = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)
    adjacency: list[set[int]] = [set() for _ in range(n)]
    for i in range(n):
        for j in np.argsort(dist[i])[1 : k + 1]:
            adjacency[i].add(int(j))
            adjacency[int(j)].add(i)
    complete = nx.Graph()
    complete.add_weighted_edges_from((i, j, dist[i, j]) for i in range(n) for j in range(i + 1, n))
    for i, j in nx.minimum_spanning_edges(complete, data=False):
        adjacency[i].add(j)
        adjacency[j].add(i)
    return adjacency


def write_city_table(city: City, path: Path, header_comment: str = "") -> None:
    """Write a city as a territory table that ``load_city`` reads back identically."""
    out = io.StringIO()
    for line in header_comment.strip().splitlines():
        out.write(f"# {line}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))
    for t in city.territories:
        writer.writerow(
            (
                t.territory_id,
                t.name,
                t.working_age_population,
                t.unemployment_rate,
                t.long_term_share,
                t.rsa_share,
                t.non_french_share,
                int(t.qpv),
                ";".join(t.neighbours),
                t.x,
                t.y,
            )
        )
    path.write_text(out.getvalue(), encoding="utf-8")
