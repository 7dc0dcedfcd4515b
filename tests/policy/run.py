"""Runs the policy transcripts (tests/policy/README.md): each NAME.in goes
through `postern -c CONF policy test --zone NAME.zone` and its output is
compared with NAME.ref.

    run.py [--update] [NAME...]

--update rewrites the .ref files from the driver's output instead of
comparing (read every changed one before committing it).  NAMEs select
transcripts (default: all).  POSTERN_BIN names the binary.  The last line
is "N passed, M failed"; the exit status is 1 on any failure or when no
transcript ran."""
import difflib
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
POSTERN = os.environ.get("POSTERN_BIN", os.path.join(ROOT, "build", "postern"))
DEFAULT_CONF = "default.conf"
TIMEOUT = 60


def config_of(text):
    """The configuration a transcript names on its first line, else the default."""
    first = text.split("\n", 1)[0].strip()
    if first.startswith("#") and first[1:].strip().startswith("config:"):
        return first[1:].strip()[len("config:"):].strip()
    return DEFAULT_CONF


def run_one(name, update):
    """Returns None when the case passed, else the text that explains why not."""
    path_in = os.path.join(HERE, name + ".in")
    path_zone = os.path.join(HERE, name + ".zone")
    path_ref = os.path.join(HERE, name + ".ref")
    with open(path_in, encoding="utf-8") as f:
        text = f.read()
    conf = os.path.join(HERE, config_of(text))
    for p in (conf, path_zone):
        if not os.path.isfile(p):
            return "missing %s" % os.path.relpath(p, HERE)
    try:
        proc = subprocess.run([POSTERN, "-c", conf, "policy", "test", "--zone", path_zone],
                              input=text.encode(), capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return "no answer within %d s" % TIMEOUT
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        return "exit status %d\n%s" % (proc.returncode, proc.stderr.decode("utf-8", "replace"))
    if update:
        old = open(path_ref, encoding="utf-8").read() if os.path.exists(path_ref) else None
        if old != out:
            with open(path_ref, "w", encoding="utf-8") as f:
                f.write(out)
            print("updated %s.ref" % name)
        return None
    if not os.path.exists(path_ref):
        return "missing %s.ref (run with --update, then read it)" % name
    ref = open(path_ref, encoding="utf-8").read()
    if ref == out:
        return None
    return "".join(difflib.unified_diff(ref.splitlines(True), out.splitlines(True),
                                        name + ".ref", name + " (driver output)"))


def main(argv):
    update = "--update" in argv
    names = [a for a in argv if a != "--update"]
    for a in names:
        if a.startswith("-"):
            print(__doc__, file=sys.stderr)
            return 2
    if not names:
        names = sorted(f[:-3] for f in os.listdir(HERE) if f.endswith(".in"))
    passed = failed = 0
    for name in names:
        if not os.path.isfile(os.path.join(HERE, name + ".in")):
            why = "no such transcript"
        else:
            why = run_one(name, update)
        if why is None:
            passed += 1
        else:
            failed += 1
            print("FAIL %s: %s" % (name, why.rstrip("\n")))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
