"""The steps glued together: a run's lifecycle, storing fetches, reprocessing."""
