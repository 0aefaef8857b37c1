"""Getting pages politely: fetching, robots.txt, discovery, politeness, WARC, URL rules."""
