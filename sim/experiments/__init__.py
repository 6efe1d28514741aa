"""Experiments: scenarios and sweeps, batches of runs on an executor, truth metrics against the
status-quo twin, and the results store."""
