"""The multilevel core shared by linear and generalized linear mixed models: structure, covariance
parameterisations, cross-products, block factorisation, optimiser, BLUPs."""
