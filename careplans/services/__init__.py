"""Use cases: take a session and plain values, flush, never commit (the edge commits)."""
