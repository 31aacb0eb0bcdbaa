"""The memory governor (layer above the core, imported only when used)."""
