"""Data commands: use/save/import, describe, list, summarize, tabulate, generate, egen, sort..."""
