"""Scenario 00: `postern check-config`.  Every file in ../bad-configs/
NAME.conf is refused (exit code not 0) with the line of NAME.expected,
"FILE:LINE: message", among its errors; a good configuration and the
embedded default pass."""

import glob
import os
import re
import subprocess

import pytest

from conftest import HERE, Postern, postern_bin

BAD = os.path.join(HERE, "bad-configs")
CASES = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(BAD, "*.conf")))


def check_config(path, cwd):
    args = [postern_bin()] + (["-c", path] if path else []) + ["check-config"]
    p = subprocess.run(args, capture_output=True, timeout=30, cwd=cwd)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def test_every_bad_config_has_expected():
    assert len(CASES) >= 10
    for name in CASES:
        assert os.path.exists(os.path.join(BAD, name + ".expected")), name


@pytest.mark.parametrize("name", CASES)
def test_bad_config(name, tmp_path):
    with open(os.path.join(BAD, name + ".expected")) as f:
        expected = f.read().strip()
    rc, out = check_config(os.path.join(BAD, name + ".conf"), str(tmp_path))
    assert rc != 0, "check-config accepted %s.conf:\n%s" % (name, out)
    assert expected in out, "expected %r in the output of check-config:\n%s" % (expected, out)
    # Every error names the file and a line.
    for line in out.splitlines():
        if name + ".conf" in line:
            assert re.search(re.escape(name) + r"\.conf:\d+: \S", line), line


def test_missing_file(tmp_path):
    path = str(tmp_path / "nonexistent.conf")
    rc, out = check_config(path, str(tmp_path))
    assert rc != 0
    assert path + ":0: cannot read the file" in out, out


def test_good_config(workdir, ports, postern_conf):
    srv = Postern(workdir, postern_conf, ports)
    rc, out = check_config(srv.conf, workdir)
    assert rc == 0, out


def test_embedded_default(tmp_path):
    rc, out = check_config(None, str(tmp_path))
    assert rc == 0, out
