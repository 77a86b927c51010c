"""Fitted models (numerical code, no printing, no Stata errors): the FittedModel protocol, design
matrices, linear regression and the multilevel core."""
