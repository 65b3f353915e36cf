"""smallwood's clients: web pages, terminal viewer, bot SDK and example bots."""
