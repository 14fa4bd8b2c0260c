"""Reading and writing items in exchange formats (JSON, CSV, XLSX)."""
