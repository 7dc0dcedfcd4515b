#!/usr/bin/env python3
"""Turns a text file into a C string constant: embed.py NAME INPUT OUTPUT."""
import sys

name, src, dst = sys.argv[1:4]
data = open(src, "rb").read()
with open(dst, "w") as out:
    out.write("/* Generated from %s by scripts/embed.py. */\n" % src.split("/")[-1])
    out.write("extern const char %s[];\n" % name)
    out.write("const char %s[] =\n" % name)
    for line in data.split(b"\n"):
        esc = "".join(c if 32 <= ord(c) < 127 and c not in '"\\?' else "\\%03o" % ord(c)
                      for c in line.decode("latin-1"))
        out.write('\t"%s\\n"\n' % esc)
    out.write(";\n")
