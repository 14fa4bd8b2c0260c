"""Platform: audit log, jobs, mail, driver SQL, search, clock, keys, labels, backups, files."""
