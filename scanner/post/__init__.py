"""After the verdict's findings: inline ignores, baseline and new-only, git diffs."""
