"""Discovery: which files are read, and what git says about them."""
