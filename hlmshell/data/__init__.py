"""Data in memory and on disk: storage types, sorting and by-groups, file formats, bundled data."""
