"""Reports built from the analyst views: the weekly briefing (briefing.py)."""
