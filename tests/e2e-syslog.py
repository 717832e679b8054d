#!/usr/bin/python3
"""tests/e2e-syslog.py - a minimal syslog sink for the end-to-end tests.

Owns: listening on a Unix datagram socket (the namespace's private /dev/log)
and appending each message, one per line, to a file, so that tests can read
what pam_jellyfin logged under real daemons and assert that no secret ever
reaches the log. Usage: e2e-syslog.py SOCKET LOGFILE (runs until killed).
"""
import os
import socket
import sys


def main():
    path, out_path = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o666)
    with open(out_path, "ab", buffering=0) as out:
        while True:
            data = sock.recv(65536)
            out.write(data.rstrip(b"\0\n").replace(b"\n", b" ") + b"\n")


if __name__ == "__main__":
    main()
