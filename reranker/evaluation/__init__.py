"""Evaluation: metrics, reports, threshold calibration, first-stage comparison, the replay of agents' picks."""
