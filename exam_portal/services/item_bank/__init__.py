"""The item bank: authoring and review, import, the pools papers are drawn from."""
