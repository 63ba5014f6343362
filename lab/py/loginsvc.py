#!/usr/bin/env python3
"""Login services that real IoT firmware exposes and the lab's packaged
daemons do not cover (standard library only). Each is a real server speaking
its protocol to whatever client connects; the `variants` scenario points
hydra at them.

- `rtsp ADDR PORT USER PASS`: an IP camera's RTSP server (RFC 2326). Every
  request without the right HTTP Basic credentials gets `401 Unauthorized`
  with `WWW-Authenticate: Basic realm="IP Camera"`; the right ones get a
  DESCRIBE answer with a small SDP. Connections stay open across requests.
- `vnc ADDR PORT`: a VNC server (RFB 3.8, RFC 6143) offering only VNC
  authentication. The standard library has no DES, so no response can be
  checked and every attempt is refused with SecurityResult 1 and a reason,
  which is what a guesser sees for a wrong password.
- `form ADDR PORT USER PASS`: a DVR's web login page. `GET /` returns an
  HTML form; `POST /login.cgi` with `username`/`password` answers
  "Login failed" (200), or a 302 to `/main.html` with a session cookie for
  the right pair.

Each listens only on the address it is given (a lab namespace's own).
"""
import base64
import http.server
import os
import socketserver
import sys
import urllib.parse


class Threaded(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def rtsp(addr: str, port: int, user: str, password: str) -> None:
    want = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    sdp = ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=Media Presentation\r\nt=0 0\r\n"
           "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=1\r\n")

    class Handler(socketserver.StreamRequestHandler):
        timeout = 30

        def handle(self):
            while True:
                head = []
                try:
                    while True:
                        line = self.rfile.readline(4096)
                        if not line:
                            return
                        line = line.decode("latin-1").rstrip("\r\n")
                        if not line:
                            break
                        head.append(line)
                except OSError:
                    return
                if not head:
                    continue
                headers = {}
                for h in head[1:]:
                    k, _, v = h.partition(":")
                    headers[k.strip().lower()] = v.strip()
                cseq = headers.get("cseq", "0")
                method = head[0].split(" ", 1)[0]
                # hydra 9.4 sends "Authorization: : Basic ..."; firmware
                # parsers are lenient about the stray colon, so is this one.
                if headers.get("authorization", "").lstrip(": ") != want:
                    out = (f"RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n"
                           'WWW-Authenticate: Basic realm="IP Camera"\r\n\r\n')
                elif method == "DESCRIBE":
                    out = (f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Type: application/sdp\r\n"
                           f"Content-Length: {len(sdp)}\r\n\r\n{sdp}")
                else:
                    out = f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"
                try:
                    self.wfile.write(out.encode())
                except OSError:
                    return

    Threaded((addr, port), Handler).serve_forever()


def vnc(addr: str, port: int) -> None:
    class Handler(socketserver.StreamRequestHandler):
        timeout = 30

        def handle(self):
            try:
                self.wfile.write(b"RFB 003.008\n")
                if len(self.rfile.read(12)) != 12:
                    return
                self.wfile.write(bytes([1, 2]))  # one security type: VNC authentication
                if not self.rfile.read(1):
                    return
                self.wfile.write(os.urandom(16))  # challenge
                if len(self.rfile.read(16)) != 16:
                    return
                reason = b"Authentication failed"
                self.wfile.write((1).to_bytes(4, "big") + len(reason).to_bytes(4, "big") + reason)
            except OSError:
                return

    Threaded((addr, port), Handler).serve_forever()


def form(addr: str, port: int, user: str, password: str) -> None:
    page = (b"<html><head><title>WEB SERVICE</title></head><body><form action=\"/login.cgi\" method=\"post\">"
            b"<input name=\"username\"><input type=\"password\" name=\"password\"><input type=\"submit\"></form>"
            b"</body></html>")

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "DVRDVS-Webs"
        sys_version = ""

        def log_message(self, *args):
            pass

        def send(self, code, body, extra=()):
            self.send_response(code)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self.send(200, page)

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            fields = urllib.parse.parse_qs(self.rfile.read(min(n, 4096)).decode("latin-1"))
            if fields.get("username") == [user] and fields.get("password") == [password]:
                self.send(302, b"", [("Location", "/main.html"), ("Set-Cookie", "session=7f3a9c; path=/")])
            else:
                self.send(200, b"<html><body>Login failed</body></html>")

    Threaded((addr, port), Handler).serve_forever()


def main() -> None:
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "rtsp":
        rtsp(args[0], int(args[1]), args[2], args[3])
    elif kind == "vnc":
        vnc(args[0], int(args[1]))
    elif kind == "form":
        form(args[0], int(args[1]), args[2], args[3])
    else:
        sys.exit(f"unknown service {kind}")


if __name__ == "__main__":
    main()
