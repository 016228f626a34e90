"""Members and signing in: the lab database's roles, who is signed in, passwords, credentials."""
