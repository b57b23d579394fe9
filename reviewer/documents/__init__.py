"""Documents for people outside the office: expert packs (notices, pledges, score sheets, calendars)."""
