"""Exam sessions: registrations, their evidence and review, online sittings, marking, scores,
results."""
