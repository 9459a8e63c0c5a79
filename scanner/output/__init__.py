"""Report writers. Each takes a ScanResult and returns text; none of them touches the disk."""
