#!/usr/bin/env python3
"""Python poplib contender: log in, RETR 1..N, write each message to OUTDIR/N.

  POPLIB_PASSWORD=... poplib_fetch.py HOST PORT USER N OUTDIR

Uses poplib as an application would: retr() returns the whole message as a
list of lines in memory; it is joined with CRLF and written to a file.
Prints "N BYTES" (bytes written) on stdout.
"""
import os
import poplib
import sys


def main():
    host, port, user, n, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
    p = poplib.POP3(host, port, timeout=120)
    p.user(user)
    p.pass_(os.environ["POPLIB_PASSWORD"])
    total = 0
    for i in range(1, n + 1):
        _resp, lines, _octets = p.retr(i)
        data = b"\r\n".join(lines) + b"\r\n"
        with open(os.path.join(outdir, str(i)), "wb") as f:
            f.write(data)
        total += len(data)
    p.quit()
    print(n, total)


if __name__ == "__main__":
    main()
