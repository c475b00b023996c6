"""Error pages never show internal detail, HTML or JSON (issue 10, item 8)."""

from litestar import Litestar, get
from litestar.exceptions import HTTPException
from litestar.testing import TestClient

from api import templating
from api.errors import EXCEPTION_HANDLERS

SECRET = "psycopg.OperationalError: connection to 10.0.0.5 failed; template plan/secret.html"


@get("/boom", sync_to_thread=False)
def boom_page() -> str:
    raise HTTPException(status_code=500, detail=SECRET)


@get("/api/boom", sync_to_thread=False)
def boom_api() -> str:
    raise HTTPException(status_code=502, detail=SECRET)


@get("/crash", sync_to_thread=False)
def crash() -> str:
    raise RuntimeError(SECRET)


def test_5xx_pages_and_problems_hide_internal_detail():
    app = Litestar([boom_page, boom_api, crash], exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
                   template_config=templating.template_config())
    with TestClient(app) as client:
        for path in ("/boom", "/api/boom", "/crash"):
            r = client.get(path)
            assert r.status_code >= 500
            assert "10.0.0.5" not in r.text and "secret.html" not in r.text, (path, r.text[:300])
            assert "Something went wrong on our side" in r.text
