"""Server-rendered HTML pages (index, match, console, embed) and the static files they load."""
