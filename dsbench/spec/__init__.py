"""What a run is, with no framework and no pandas: each setting declared once (settings), TOML
configs and named settings checked once (config), the request a command makes (request), the
points of a sweep (axes). May import errors only; everything else in dsbench imports it."""
