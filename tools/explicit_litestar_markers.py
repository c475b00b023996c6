"""Rewrite Litestar handler signatures to explicit markers (FromPath, FromQuery, JSONBody, QueryParameter,
api.deps.DbSession) instead of the inferred style Litestar 2.23+ deprecates (warnings are errors in
the test suite). Usage: .venv/bin/python tools/explicit_litestar_markers.py api/controllers/*.py; then
read the diff (path ints get ge=1, le=2**31 - 1)."""
import ast, re, sys
from pathlib import Path

RESERVED = {"request", "socket", "state", "scope", "headers", "cookies", "query", "body", "data"}
DECOS = {"get", "post", "patch", "put", "delete", "route"}
INT_MAX = "2**31 - 1"

def rewrite(path: Path) -> None:
    src = path.read_text()
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    offs = [0]
    for l in lines:
        offs.append(offs[-1] + len(l))
    def pos(line, col):
        # ast columns are UTF-8 byte offsets
        return offs[line - 1] + len(lines[line - 1].encode()[:col].decode())
    edits = []
    used = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        route = None
        for d in node.decorator_list:
            if isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id in DECOS:
                if d.args and isinstance(d.args[0], ast.Constant):
                    route = d.args[0].value
        if route is None:
            continue
        path_params = dict(re.findall(r"\{(\w+):(\w+)\}", route))
        for a in node.args.args + node.args.kwonlyargs:
            if a.annotation is None:
                continue
            ann = ast.get_source_segment(src, a.annotation)
            start, end = pos(a.annotation.lineno, a.annotation.col_offset), pos(a.annotation.end_lineno, a.annotation.end_col_offset)
            new = None
            if ann.startswith(("FromPath", "FromQuery", "JSONBody", "DbSession")) or re.search(
                    r"(Path|Query)Parameter\(", ann):
                continue  # already explicit: running twice changes nothing
            if a.arg == "db_session":
                new = "DbSession"; used.add("DbSession")
            elif a.arg == "data":
                if ann not in ("FormData",) and not ann.startswith(("Annotated", "JSONBody")):
                    new = f"JSONBody[{ann}]"; used.add("JSONBody")
            elif a.arg in RESERVED:
                continue
            elif a.arg in path_params:
                if ann.startswith("Annotated"):
                    new = ann.replace("Parameter(", "PathParameter("); used.add("PathParameter")
                elif ann == "int":
                    new = f"Annotated[int, PathParameter(ge=1, le={INT_MAX})]"; used.update({"PathParameter", "Annotated"})
                else:
                    new = f"FromPath[{ann}]"; used.add("FromPath")
            else:
                if ann.startswith("Annotated"):
                    new = re.sub(r"\bParameter\(query=(\"[^\"]+\")", r"QueryParameter(name=\1", ann)
                    new = re.sub(r"(?<!Query)\bParameter\(", "QueryParameter(", new)
                    used.add("QueryParameter")
                else:
                    new = f"FromQuery[{ann}]"; used.add("FromQuery")
            if new and new != ann:
                edits.append((start, end, new))
    for start, end, new in sorted(edits, reverse=True):
        src = src[:start] + new + src[end:]
    if not edits:
        return
    params = sorted(u for u in used if u in {"FromPath", "FromQuery", "JSONBody", "QueryParameter", "PathParameter"})
    imports = []
    if params:
        imports.append(f"from litestar.params import {', '.join(params)}\n")
    if "DbSession" in used and path.name != "deps.py":
        imports.append("from api.deps import DbSession\n")
    if "Annotated" in used and "Annotated" not in src.split("\n\n\n")[0]:
        imports.append("from typing import Annotated\n")
    src = re.sub(r"^from litestar\.params import Parameter\n", "", src, flags=re.M)
    # insert after the last top-level import of the import block
    m = list(re.finditer(r"^(from|import) [^\n]+(\n[ \t]+[^\n]+)*\n", src, flags=re.M))
    first_def = re.search(r"^(def|async def|@|class|[A-Z_]+ =)", src, flags=re.M).start()
    last = [x for x in m if x.end() <= first_def][-1]
    src = src[:last.end()] + "".join(imports) + src[last.end():]
    path.write_text(src)
    print(path, len(edits))

for p in sys.argv[1:]:
    rewrite(Path(p))
