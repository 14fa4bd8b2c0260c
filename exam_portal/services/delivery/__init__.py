"""Delivery: attempts started, opened, answered, handed in and marked; the learning loop."""
