"""Container, orchestrator and agent-config surfaces (Dockerfile, compose, devcontainer,
Kubernetes, .claude/.codex/.gemini/MCP configs). Registers its file kinds on import."""
