"""Data for people and benchmarks: the demo tenants, and fast bulk synthetic data."""
