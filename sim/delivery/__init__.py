"""Delivery: the needs residents have, the actions associations deliver to answer them, and the
Mesa agents (residents, associations, public services). Nothing here knows who pays."""
