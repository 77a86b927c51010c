"""Inference on fitted models: Wald tests, variance components, LR tests, information criteria."""
