"""The domain (careplans/) never imports Litestar, not even through a mixin (ARCHITECTURE.md)."""

from __future__ import annotations

import subprocess
import sys

# Run in a fresh interpreter (the test process has already imported the web edge), with
# Litestar made unimportable first (a None entry in sys.modules). Why not simply import
# careplans and look: advanced-alchemy, which the models stand on, imports litestar.dto
# from its own typing shims whenever Litestar is installed (about 190 modules, from
# `import advanced_alchemy.base` alone), so that would always fail for a reason outside
# the domain. With Litestar blocked advanced-alchemy falls back to its shims, and any
# module under careplans that needs Litestar, directly or through a mixin such as
# advanced-alchemy's SessionModelMixin, fails to import and fails this test.
IMPORT_ALL_WITHOUT_LITESTAR = """
import importlib, pkgutil, sys
sys.modules["litestar"] = None
import careplans
for module in pkgutil.walk_packages(careplans.__path__, "careplans."):
    importlib.import_module(module.name)
loaded = [m for m, mod in sys.modules.items() if mod is not None and m.startswith("litestar")]
print("\\n".join(sorted(loaded)))
"""


def test_the_domain_never_imports_litestar():
    run = subprocess.run([sys.executable, "-c", IMPORT_ALL_WITHOUT_LITESTAR], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, f"a module under careplans needs Litestar:\n{run.stderr}"
    loaded = run.stdout.split()
    assert loaded == [], f"importing careplans loads {len(loaded)} Litestar modules, e.g. {loaded[:5]}"
