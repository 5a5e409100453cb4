"""Rebuilding stores: in place with the list in force (``inplace``), or into a new store
from the ticket topic (``replay``). docs/rebuild.md says why each works as it does."""
