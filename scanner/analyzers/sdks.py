"""In-process agents: agent SDKs and code-executing frameworks in Python and TypeScript.
Registers its detectors on import."""
