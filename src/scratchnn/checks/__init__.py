"""Check cases for ``scratchnn check``, one module per family (found automatically)."""
