"""GUI tests of the window shell: start-up, errors, locale, translations."""
