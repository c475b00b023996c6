"""The Litestar edge: HTTP in, domain calls, HTTP out."""
