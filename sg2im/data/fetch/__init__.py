"""Getting datasets into the pipeline's layout: HTTP downloads, archives, the official sources."""
