"""Launch surfaces: the file-kind table, one analyzer per surface, the command reader that peels
wrappers off an argv, and the semgrep stage for languages without a built-in front end."""
