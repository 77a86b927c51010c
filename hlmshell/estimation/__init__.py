"""Numerical estimation: design matrices, mixed models, OLS, and inference helpers (no printing)."""
