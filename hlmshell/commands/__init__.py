"""Command functions, one subpackage per family: fn(session, command) -> result objects."""
