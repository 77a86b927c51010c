"""Estimation commands: mixed, xtmixed, regress."""
