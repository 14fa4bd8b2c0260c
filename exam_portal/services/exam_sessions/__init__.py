"""Exam sessions: registrations and their review, online sittings, marking, scores, results."""
