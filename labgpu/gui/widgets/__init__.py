"""Small widgets and texts the feature pages share: action pages, delegates, dates, units."""
