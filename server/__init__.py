"""The smallwood server: the world core, the minds, and the edges that feed them."""
