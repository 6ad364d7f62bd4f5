#!/usr/bin/env python3
"""Writes a deterministic maildrop straight into a dovecot-sandbox Maildir.

  gen_maildrop.py MAILDIR KIND COUNT SIZE SEED

MAILDIR is the user's Maildir (scripts/dovecot-sandbox lays it out as
DIR/mail/USER/Maildir with new/ cur/ tmp/). Files go into MAILDIR/new, named in
the maildir convention with increasing time fields (Dovecot hands out UIDs in
that order), mode 0600, owned like MAILDIR — as `dovecot-sandbox add-message`
does, without running it COUNT times.

KIND: text  — text/plain mail of about SIZE bytes (headers + wrapped prose);
      attach — multipart mail with a base64 attachment, about SIZE bytes;
      dots  — text mail where about half the body lines start with '.'
              (".", "..", ". x", "...", ".Signature") to exercise dot-stuffing.
Every file uses CRLF line ends and ends with CRLF, so RETR returns it byte for
byte (see the line-end notes in scripts/dovecot-sandbox).

Prints "COUNT BYTES LINES" (bytes and CRLF count over all files).
"""
import base64
import os
import random
import sys

WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at which "
    "but have an they you were her she there been one all we their has would when if so no will "
    "more about can out up said what some into them could time only other new than then these "
    "mailbox server client message retrieve delivery protocol network latency throughput buffer "
    "pipeline report meeting schedule invoice attached please regards thanks tomorrow review "
    "budget quarter release version update deadline project status draft comments agenda"
).split()


def prose_pool(rng, n=4000, dots=False):
    pool = []
    for _ in range(n):
        width = rng.randint(40, 76)
        line = []
        length = 0
        while length < width:
            w = rng.choice(WORDS)
            line.append(w)
            length += len(w) + 1
        s = " ".join(line)
        if dots and rng.random() < 0.5:
            s = rng.choice([".", "..", "...", ". " + s, "." + s, ".. " + s, ".\t" + s])
        pool.append(s.encode())
    if dots:
        pool += [b".", b"..", b"...", b".Signature"]
    return pool


def headers(rng, i, subject, extra=()):
    day = 1 + i % 28
    h = [
        f"Return-Path: <sender{i % 97}@example.org>",
        f"Received: from mx{i % 7}.example.org (mx{i % 7}.example.org [192.0.2.{1 + i % 250}])",
        f"\tby mail.example.net with ESMTPS id {rng.getrandbits(64):016x}",
        f"\tfor <bench@example.net>; Mon, {day} Jun 2025 10:{i % 60:02d}:{(i * 7) % 60:02d} +0000",
        f"From: Sender {i % 97} <sender{i % 97}@example.org>",
        "To: Bench User <bench@example.net>",
        f"Subject: {subject} #{i}",
        f"Date: Mon, {day} Jun 2025 10:{i % 60:02d}:{(i * 7) % 60:02d} +0000",
        f"Message-ID: <{rng.getrandbits(96):024x}.{i}@example.org>",
        "MIME-Version: 1.0",
    ]
    h += list(extra)
    return "\r\n".join(h).encode() + b"\r\n"


def text_message(rng, i, size, pool, subject):
    out = [headers(rng, i, subject, ["Content-Type: text/plain; charset=utf-8",
                                     "Content-Transfer-Encoding: 8bit"]), b"\r\n"]
    n = sum(len(x) for x in out)
    while True:
        line = rng.choice(pool)
        if n + len(line) + 2 > size:
            break
        out.append(line + b"\r\n")
        n += len(line) + 2
    pad = size - n - 2
    if pad > 0:
        out.append(b"x" * pad + b"\r\n")
    return b"".join(out)


def attach_message(rng, i, size, pool):
    boundary = f"=_bench_{i}_{rng.getrandbits(32):08x}"
    head = headers(rng, i, "Large attachment",
                   [f'Content-Type: multipart/mixed; boundary="{boundary}"']) + b"\r\n"
    intro = (f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n").encode()
    intro += b"".join(rng.choice(pool) + b"\r\n" for _ in range(20))
    part = (f"--{boundary}\r\nContent-Type: application/octet-stream; name=\"data{i}.bin\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n"
            f"Content-Disposition: attachment; filename=\"data{i}.bin\"\r\n\r\n").encode()
    tail = f"--{boundary}--\r\n".encode()
    room = size - len(head) - len(intro) - len(part) - len(tail)
    # base64: 76 chars + CRLF per 57 input bytes.
    raw = rng.randbytes(max(0, room // 78 * 57))
    b64 = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    return head + intro + part + b64 + tail


def main():
    maildir, kind, count, size, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    rng = random.Random(seed)
    pool = prose_pool(rng, dots=(kind == "dots"))
    st = os.stat(maildir)
    total = lines = 0
    base = 1700000000
    for i in range(1, count + 1):
        if kind == "attach":
            data = attach_message(rng, i, size, pool)
        else:
            data = text_message(rng, i, size, pool, "Dotted lines" if kind == "dots" else "Status report")
        name = f"{base + i}.M{i:06d}P1Q0.pop3kit-sandbox"
        tmp = os.path.join(maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.chown(tmp, st.st_uid, st.st_gid)
        os.chmod(tmp, 0o600)
        os.rename(tmp, os.path.join(maildir, "new", name))
        total += len(data)
        lines += data.count(b"\r\n")
    print(count, total, lines)


if __name__ == "__main__":
    main()
