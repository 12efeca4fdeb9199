#!/usr/bin/env python3
"""Compares what Sync & Recover read from an mbox with what Python's `email` package reads.

    scripts/mailcheck/compare.py FILE.mbox OURS.jsonl [--show N]

OURS.jsonl is what `cargo run -p transfer --example read_back -- FILE.mbox` prints: one line per
archived message, in the mbox's order. For every message this compares the subject, the sender's
address, the date (to the minute) and the first body words, prints the share that differ and the
first N differences of each kind, and exits non-zero when more than 0.1% differ in any of them.
Python's reading is not always the right one: every difference is printed for a person to judge.
"""
import argparse
import email
import email.policy
import email.utils
import html.parser
import json
import mailbox
import re
import sys
from datetime import timezone

WORDS = 6


class _Text(html.parser.HTMLParser):
    """HTML to text, the way a reader sees it: no style, script or title contents."""

    HIDDEN = {"style", "script", "title", "template"}
    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "td", "th"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.out.append(" ")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.out.append(" ")

    def handle_data(self, data):
        if not self.hidden:
            self.out.append(data)


def html_text(markup):
    parser = _Text()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # noqa: BLE001 - broken HTML: what was read so far
        pass
    return "".join(parser.out)


def words(text, n=WORDS):
    return [w.lower() for w in re.findall(r"\w+", text or "")][:n]


def body_of(msg):
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # noqa: BLE001 - undecodable: the raw payload as text
        content = part.get_payload(decode=True) or b""
        content = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        return html_text(content)
    return content


def theirs(message_bytes):
    msg = email.message_from_bytes(message_bytes, policy=email.policy.default)
    try:
        subject = str(msg.get("subject", "") or "")
    except Exception:  # noqa: BLE001
        subject = ""
    try:
        sender = email.utils.parseaddr(str(msg.get("from", "") or ""))[1]
    except Exception:  # noqa: BLE001
        sender = ""
    date = None
    try:
        parsed = email.utils.parsedate_to_datetime(str(msg.get("date", "") or ""))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        date = int(parsed.timestamp())
    except Exception:  # noqa: BLE001
        date = None
    return {
        "subject": " ".join(subject.split()),
        "sender": sender.lower(),
        "date": date,
        "words": words(body_of(msg)),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mbox")
    ap.add_argument("ours")
    ap.add_argument("--show", type=int, default=10)
    args = ap.parse_args()

    ours = [json.loads(line) for line in open(args.ours, encoding="utf-8") if line.strip()]
    seen = set()
    python = []
    for message in mailbox.mbox(args.mbox, create=False):
        raw = message.as_bytes(unixfrom=False)
        key = raw.strip()
        if key in seen:  # the archive keeps one copy of identical bytes in a folder
            continue
        seen.add(key)
        python.append(theirs(raw))
    if len(python) != len(ours):
        print(f"message counts differ: python {len(python)}, ours {len(ours)}")
        return 2

    kinds = {"subject": [], "sender": [], "date": [], "words": []}
    for n, (p, o) in enumerate(zip(python, ours)):
        if p["subject"] != " ".join(o["subject"].split()):
            kinds["subject"].append((n, p["subject"], o["subject"]))
        if p["sender"] != o["sender"].lower():
            kinds["sender"].append((n, p["sender"], o["sender"]))
        # Python has no date where ours fell back (Received, From line); compare only where
        # Python read one. To the minute: seconds are sometimes dropped by either side.
        if p["date"] is not None and abs(p["date"] - o["date"]) >= 60:
            kinds["date"].append((n, p["date"], (o["date"], o["date_source"])))
        ow = words(" ".join(o["words"]))
        if p["words"] != ow and not (p["words"] and ow and (p["words"][:3] == ow[:3])):
            kinds["words"].append((n, p["words"], ow))

    total = len(ours)
    worst = 0.0
    print(f"{total} messages compared")
    for kind, diffs in kinds.items():
        share = 100.0 * len(diffs) / max(total, 1)
        worst = max(worst, share)
        print(f"  {kind:8} {len(diffs):6} differ ({share:.2f}%)")
        for n, p, o in diffs[: args.show]:
            print(f"      #{n}: python {p!r}\n           ours   {o!r}")
    fallback = sum(1 for o in ours if o["date_source"] not in ("header", "header_without_zone"))
    print(f"  dated by a fallback (Received, From line, file time): {fallback}")
    return 0 if worst <= 0.1 else 1


if __name__ == "__main__":
    sys.exit(main())
