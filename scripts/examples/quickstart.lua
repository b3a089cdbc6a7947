-- Quickstart: prints where Quarry runs and its sandbox limits.
print(_VERSION)
