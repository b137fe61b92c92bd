"""Solve jobs: a process pool runs the planner; the event loop only awaits results."""
