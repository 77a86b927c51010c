"""hlmshell: a Stata-like command shell for multilevel linear models."""

__version__ = "0.1.0"
