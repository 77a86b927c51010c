"""Stata's language: command lines, syntax declarations, expressions, varlists, factor-variable and
coefficient-name grammars, number formats.  Depends on nothing else in hlmshell but errors."""
