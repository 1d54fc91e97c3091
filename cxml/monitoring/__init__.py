"""Monitoring: the prediction log, reference profiles, drift, estimated and realized performance,
and alerts."""
