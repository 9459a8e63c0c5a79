"""Language front ends. Each turns one file into `LaunchFound` records; nothing more."""
