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
    return [w.lower() for w in re.findall(r"[^\W_]+", text or "")][:n]


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


def first_text_part(msg):
    for part in msg.walk():
        if part.get_content_maintype() == "text" and not part.is_multipart():
            if part.get_content_disposition() != "attachment" and not part.get_filename():
                return part
    return None


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
    # The header as written (the default policy would show it reformatted).
    raw_date = str(email.message_from_bytes(message_bytes).get("date", "") or "")
    date = None
    try:
        parsed = email.utils.parsedate_to_datetime(raw_date)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        date = int(parsed.timestamp())
    except Exception:  # noqa: BLE001
        date = None
    try:
        chosen = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001
        chosen = None
    return {
        "subject": " ".join(subject.split()),
        "sender": sender.lower(),
        "date": date,
        "raw_date": raw_date,
        "words": words(body_of(msg)),
        "replacement_bytes": b"\xef\xbf\xbd" in message_bytes,
        "unclosed_comment": re.search(rb"<!--(?![\s\S]*-->)", message_bytes) is not None,
        "plain_elsewhere": chosen is not None and chosen is not first_text_part(msg),
        "meta_charset": chosen is not None
        and chosen.get_content_subtype() == "html"
        and chosen.get_param("charset") is None
        and re.search(rb"(?i)<meta[^>]*charset=", message_bytes) is not None,
    }


# Differences whose cause is known, and which side reads the message as its sender meant it.
def explain(kind, p, o):
    if kind == "subject":
        if any("\x80" <= c <= "\x9f" for c in p["subject"]):
            return "Python keeps C1 control bytes; we read them as windows-1252 (as mail clients do)"
    if kind == "sender":
        local = o["sender"].rsplit("@", 1)[0]
        if not p["sender"] and "@" in local and not local.startswith('"'):
            return "not an address (two @ signs): Python gives nothing, we keep what the header says"
    if kind == "date":
        header = p["raw_date"]
        if p["date"] is not None and p["date"] < 0:
            return "Y2K-broken year (0102): Python reads year 102, we read 2002"
        if re.search(r"\b[AP]M\b", header, re.I):
            return "12-hour clock: Python ignores AM/PM"
        if o["date_source"] in ("received", "header_without_zone") and re.search(
            r"(\s[+-]?\d{4,5}|\s[+-]\d{1,2})\s*(\(.*\))?$", header.strip()
        ):
            return "impossible zone (-1900, 01800, 0530): Python applies it, we take the newest Received date"
        if re.search(r"GMT[+-]\d", header, re.I):
            return "GMT+n: we apply the offset, Python ignores it"
        if "+-" in header:
            return "+-0500: we read -0500, Python ignores the zone"
    if kind == "words":
        if p["replacement_bytes"]:
            return "the corpus lost this message's 8-bit bytes (U+FFFD): each side decodes them differently"
        if not p["words"]:
            return "Python finds no body text"
        if p["meta_charset"]:
            return "HTML without a MIME charset: we decode it by its <meta> charset (as browsers do), Python does not"
        if p["unclosed_comment"]:
            return "an unclosed <!-- hides the rest of the HTML, as in a browser"
        if p["plain_elsewhere"]:
            return "Python prefers a text/plain part anywhere; we read the first body part"
    return None


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
            kinds["subject"].append((n, p["subject"], o["subject"], explain("subject", p, o)))
        if p["sender"] != o["sender"].lower():
            kinds["sender"].append((n, p["sender"], o["sender"], explain("sender", p, o)))
        # Compare only where Python read a date. To the minute: seconds are sometimes dropped.
        if p["date"] is not None and abs(p["date"] - o["date"]) >= 60:
            ours_date = (o["date"], o["date_source"])
            kinds["date"].append((n, (p["date"], p["raw_date"]), ours_date, explain("date", p, o)))
        ow = words(" ".join(o["words"]))
        if p["words"] != ow and not (p["words"] and ow and (p["words"][:3] == ow[:3])):
            kinds["words"].append((n, p["words"], ow, explain("words", p, o)))

    total = len(ours)
    worst = 0.0
    print(f"{total} messages compared")
    for kind, diffs in kinds.items():
        unexplained = [d for d in diffs if d[3] is None]
        share = 100.0 * len(unexplained) / max(total, 1)
        worst = max(worst, share)
        print(f"  {kind:8} {len(diffs):5} differ, {len(unexplained)} unexplained ({share:.2f}%)")
        reasons = {}
        for d in diffs:
            if d[3] is not None:
                reasons.setdefault(d[3], []).append(d)
        for reason, ds in sorted(reasons.items(), key=lambda r: -len(r[1])):
            print(f"      {len(ds):5}  {reason}")
            for n, p, o, _ in ds[: min(2, args.show)]:
                print(f"               #{n}: python {p!r}, ours {o!r}")
        for n, p, o, _ in unexplained[: args.show]:
            print(f"      unexplained #{n}: python {p!r}\n                      ours   {o!r}")
    fallback = sum(1 for o in ours if o["date_source"] not in ("header", "header_without_zone"))
    print(f"  dated by a fallback (Received, From line, file time): {fallback}")
    archived = sum(1 for o in ours if o["date_source"] == "archived")
    print(f"  dated at import time (no date anywhere): {archived}")
    print(f"  most unexplained in one field: {worst:.2f}% (at most 0.1% allowed)")
    return 0 if worst <= 0.1 else 1


if __name__ == "__main__":
    sys.exit(main())
