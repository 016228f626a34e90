"""The desktop platform: where files live, the log file, the OS keyring."""
