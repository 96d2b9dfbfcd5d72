"""Judging curve shapes: roles, entropy shapes, throughput, reward, KL, value checks (pure)."""
