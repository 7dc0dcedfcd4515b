"""The configuration reference in README.md is the one compiled into postern."""
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("POSTERN_BIN", os.path.join(ROOT, "build", "postern"))


def test_readme_reference_matches_binary():
    ref = subprocess.run([BIN, "check-config", "--reference"], check=True,
                         capture_output=True, text=True).stdout
    readme = open(os.path.join(ROOT, "README.md")).read()
    m = re.search(r"<!-- reference:begin -->\n```\n(.*?)```\n<!-- reference:end -->", readme, re.S)
    assert m, "README.md has no reference block"
    assert m.group(1) == ref, "README.md is stale: run scripts/gen-reference.sh"


def test_embedded_default_config_is_valid():
    out = subprocess.run([BIN, "check-config"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "<embedded>: ok (3 listeners, 1 domains)" in out.stdout
