"""What spans files: the Python value resolver over a module, and the links between files."""
