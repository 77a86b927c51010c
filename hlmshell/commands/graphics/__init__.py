"""Graph commands: twoway and its plot types, histogram, kdensity, graph box/bar, qnorm, pnorm,
serrbar, and the graphs kept in memory (graph export/save/use/combine/drop/dir, set scheme)."""
