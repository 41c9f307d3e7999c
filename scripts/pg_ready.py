"""Exit 0 when the PostgreSQL server in the given URL answers (the database may not exist)."""

import sys

import psycopg

url = sys.argv[1]
try:
    base = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(base, connect_timeout=3):
        pass
except Exception as exc:
    print(f"PostgreSQL not reachable: {exc}", file=sys.stderr)
    sys.exit(1)
