#!/bin/sh
# Rewrites the configuration reference in README.md from the parameter
# table compiled into postern (postern check-config --reference).
set -eu
BIN=${1:-build/postern}
ref=$(mktemp)
{ echo '```'; "$BIN" check-config --reference; echo '```'; } > "$ref"
/usr/bin/python3 - "$ref" <<'PY'
import re, sys
ref = open(sys.argv[1]).read()
text = open("README.md").read()
new = re.sub(r"(<!-- reference:begin -->\n).*?(<!-- reference:end -->)",
             lambda m: m.group(1) + ref + m.group(2), text, flags=re.S)
open("README.md", "w").write(new)
PY
rm -f "$ref"
