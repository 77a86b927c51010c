"""Session commands: do/run, log, help, cd, set, display, scalar, matrix, return."""
