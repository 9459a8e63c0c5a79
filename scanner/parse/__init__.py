"""Parsers shared by every reader: tree-sitter, YAML, and the JSON/TOML/YAML config tree."""
