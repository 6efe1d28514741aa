"""Territory tables: loading, generation, and errors that name the file, row and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.errors import TerritoryDataError
from sim.world.territory import (
    City,
    generate_city,
    load_city,
    parse_city_table,
    write_city_table,
)

GOOD = """# comment line
territory_id,name,working_age_population,unemployment_rate,long_term_share,rsa_share,non_french_share,qpv,neighbours
A,Alpha,1000,0.10,0.4,0.03,0.05,1,B
B,Beta,2000,0.07,0.5,0.02,0.03,0,A
"""


def test_shipped_cities_load_with_expected_sizes() -> None:
    """The demo city has 12 territories and 30,000 residents; the Bordeaux-scale one 260,000;
    Bordeaux's quartiers and QPV add up to its 259,809 inhabitants, two thirds of working age."""
    demo = load_city("demo")
    assert (demo.size, demo.population) == (12, 30_000)
    scale = load_city("bordeaux_scale")
    assert scale.population == 260_000
    assert scale.graph().number_of_edges() >= scale.size - 1
    bordeaux = load_city("bordeaux")
    assert bordeaux.size == 14
    assert sum(t.qpv for t in bordeaux.territories) == 6
    assert bordeaux.population == 171_472
    assert nx_connected(bordeaux)


def nx_connected(city: City) -> bool:
    """Whether the city's adjacency graph is connected."""
    import networkx as nx

    return bool(nx.is_connected(city.graph()))


def test_source_columns_are_kept_and_say_what_is_illustrative() -> None:
    """The Bordeaux table names a source for every figure; the loader keeps them, the QPV
    unemployment rate is sourced (ONPV, S03), the long-term share illustrative, and the city
    says it is illustrative. A table without source columns (the demo) is illustrative in
    every figure."""
    bordeaux = load_city("bordeaux")
    lac = bordeaux.territories[bordeaux.index_of("Q_LAC")]
    assert lac.source_of()["unemployment_rate"] == "S03"
    assert lac.source_of()["long_term_share"] == "illustrative"
    assert bordeaux.illustrative
    assert "long_term_share" in bordeaux.illustrative_fields()
    assert "unemployment_rate" not in bordeaux.illustrative_fields()
    demo = load_city("demo")
    assert demo.illustrative
    assert "unemployment_rate" in demo.illustrative_fields()


def test_a_fully_sourced_table_is_not_illustrative(tmp_path: Path) -> None:
    """Every diagnosis figure with a source id: the city is not illustrative; an empty source
    cell is an error naming its row and column."""
    fields = "working_age_population,unemployment_rate,long_term_share,rsa_share"
    fields += ",non_french_share,qpv,neighbours"
    header = (
        "territory_id,name," + fields + "," + ",".join(f"{f}_source" for f in fields.split(","))
    )
    rows = ["A,Alpha,1000,0.1,0.4,0.02,0.05,0,B", "B,Beta,2000,0.07,0.5,0.02,0.03,0,A"]
    path = tmp_path / "sourced.csv"
    path.write_text(header + "\n" + "\n".join(r + ",S1" * 7 for r in rows) + "\n")
    assert not load_city(path).illustrative
    path.write_text(header + "\n" + rows[0] + ",S1" * 7 + "\n" + rows[1] + ",S1" * 6 + ",\n")
    with pytest.raises(TerritoryDataError, match="neighbours_source"):
        load_city(path)


def test_table_round_trips_through_writer(tmp_path: Path) -> None:
    """A generated city written as a table reads back identical."""
    city = generate_city(8, 5_000, seed=3)
    path = tmp_path / "c.csv"
    write_city_table(city, path, "illustrative")
    again = load_city(path)
    assert again.territories == city.territories


def test_generated_city_is_connected_and_seeded() -> None:
    """Same seed, same city; the adjacency graph is connected."""
    import networkx as nx

    a, b = generate_city(15, 20_000, seed=5), generate_city(15, 20_000, seed=5)
    assert a.territories == b.territories
    assert nx.is_connected(a.graph())
    assert generate_city(15, 20_000, seed=6).territories != a.territories


@pytest.mark.parametrize(
    ("old", "new", "row", "field", "expected"),
    [
        ("qpv,neighbours", "qpv,voisins", 2, "neighbours", "missing column"),
        ("A,Alpha,1000", "A,Alpha,-5", 3, "working_age_population", "positive whole number"),
        ("0.10,0.4,0.03", "1.30,0.4,0.03", 3, "unemployment_rate", "share in [0, 1]"),
        ("0.5,0.02,0.03", "0.5,0.02,-0.1", 4, "non_french_share", "share in [0, 1]"),
        (",1,B", ",1,Z", 3, "neighbours", "unknown neighbour 'Z'"),
        ("1000,0.10", "lots,0.10", 3, "working_age_population", "expected a number"),
        (",1,B", ",maybe,B", 3, "qpv", "expected 0/1"),
    ],
)
def test_bad_tables_name_file_row_and_field(
    old: str, new: str, row: int, field: str, expected: str
) -> None:
    """Each mistake is reported once, with the file, the row (line) and the field."""
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    with pytest.raises(TerritoryDataError) as info:
        parse_city_table(text, source="city.csv", name="c")
    message = str(info.value)
    assert message.startswith(f"city.csv, row {row}, field '{field}'")
    assert expected in message


def test_missing_file_is_a_clear_error() -> None:
    """A path that does not exist names itself and the built-in alternatives."""
    with pytest.raises(TerritoryDataError, match=r"no such file.*demo"):
        load_city("does/not/exist.csv")


def test_spreadsheet_exports_are_read_or_refused_clearly(tmp_path: Path) -> None:
    """A 'CSV UTF-8' export (byte-order mark) reads; a Latin-1 export is one clear error."""
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    assert load_city(bom).size == 2
    latin = tmp_path / "latin.csv"
    latin.write_bytes(GOOD.replace("Alpha", "Été").encode("latin-1"))
    with pytest.raises(TerritoryDataError, match=r"latin.csv, field 'file': not UTF-8 text"):
        load_city(latin)


def test_a_header_without_rows_is_refused() -> None:
    """A table with its header but no territory cannot describe a city."""
    header = GOOD.splitlines()[1] + "\n"
    with pytest.raises(TerritoryDataError, match="the table has a header but no territory"):
        parse_city_table(header, source="empty.csv", name="e")


def test_a_misspelt_column_is_pointed_out() -> None:
    """'neighbors' for 'neighbours' names the column it probably meant."""
    with pytest.raises(TerritoryDataError, match="the header has 'neighbors': misspelt"):
        parse_city_table(GOOD.replace("neighbours", "neighbors"), source="c.csv", name="c")
