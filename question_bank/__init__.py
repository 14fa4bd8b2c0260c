"""The item-bank domain in plain Python: no Flask, no SQLAlchemy, no web app."""
