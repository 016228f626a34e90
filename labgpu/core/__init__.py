"""Pure domain: dataclasses, rules and parsers. Imports nothing outside the standard library."""
