"""Finding watch-list entities in extracted text."""
