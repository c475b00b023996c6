"""ASGI entry point: `uvicorn api.asgi:app`."""

import gc

from api.app import create_app

app = create_app()
# What importing and building the app made lives as long as the process: out of the cyclic
# collector's way (gc.freeze), so its full collections walk only what requests leave behind
# instead of every module, route and mapper as well. Garbage from start-up is collected first.
gc.collect()
gc.freeze()
