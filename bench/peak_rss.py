"""Runs a command and records its own peak RSS, for processes a launcher starts (torchrun's ranks):
`peak_rss.py OUT_DIR -- CMD...` writes OUT_DIR/rss-<RANK>.json {"peak_rss_mib": ...} and exits with
the command's status."""
import json
import os
import pathlib
import subprocess
import sys

out_dir = pathlib.Path(sys.argv[1])
cmd = sys.argv[sys.argv.index("--") + 1:]
proc = subprocess.Popen(cmd)
_, status, usage = os.wait4(proc.pid, 0)
out_dir.mkdir(parents=True, exist_ok=True)
(out_dir / f"rss-{os.environ.get('RANK', '0')}.json").write_text(json.dumps({"peak_rss_mib": usage.ru_maxrss / 1024}))
sys.exit(os.waitstatus_to_exitcode(status))
