"""Accounts: creating one, signing up, signing in, passwords, resets, profiles, ID photos,
throttling."""
