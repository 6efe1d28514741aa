"""The simulation: the Mesa city model that wires the world, delivery and a funding mechanism, one
month per step, and one run turned into plain data."""
