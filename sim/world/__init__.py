"""The world: parameters, random streams, micro-territories, the residents' social network and
their baseline dynamics. Nothing here knows about funding."""
