"""blastwall: find AI agents launched in the operator's own security context."""

__version__ = "0.1.0"
