#!/usr/bin/env python3
"""Benign behaviour of one lab device, run inside that device's namespace.

Reads the JSON written by devices.py and, until killed, does what such a
device does on a home network: mDNS and SSDP announcements and answers, SNTP
polls of the gateway, DNS lookups of its vendor cloud, MQTT publishes with
credentials, HTTP fetches. The wire traffic comes from real tools where one
exists (ntpdig, mosquitto_pub/sub, curl, the glibc resolver); only mDNS/SSDP
are written here because no such tool runs without a per-namespace daemon.

Every period is drawn from a random generator seeded with (seed, device,
task), so two runs with one seed follow the same schedule and different seeds
differ.
"""
import json
import random
import socket
import struct
import subprocess
import sys
import threading
import time

import discovery as d

LOG_LOCK = threading.Lock()


def log(msg):
    with LOG_LOCK:
        print(f"{time.time():.3f} {msg}", flush=True)


def run(cmd, timeout=10):
    try:
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
        if r.returncode != 0:
            log(f"{cmd[0]} rc={r.returncode} {r.stderr.decode(errors='replace').strip()[:200]}")
    except subprocess.TimeoutExpired:
        log(f"{cmd[0]} timed out")


class Device:
    def __init__(self, cfg):
        self.cfg = cfg
        self.services = [d.MdnsService(cfg["name"], cfg["ip"], s["service"], s["instance"],
                                       s["port"], s["txt"]) for s in cfg["mdns"]]
        self.mdns_sock = None
        if self.services or any(t["kind"] == "mdns_query" for t in cfg["tasks"]):
            self.mdns_sock = self.multicast_socket(d.MDNS_GROUP, d.MDNS_PORT)
        self.ssdp_sock = None
        if cfg["ssdp"]:
            self.ssdp_sock = self.multicast_socket(d.SSDP_GROUP, d.SSDP_PORT)

    def rng(self, key):
        return random.Random(f"{self.cfg['seed']}:{self.cfg['name']}:{key}")

    def multicast_socket(self, group, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", port))
        mreq = struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton(self.cfg["ip"]))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(self.cfg["ip"]))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255 if port == d.MDNS_PORT else 4)
        return s

    # --- discovery -------------------------------------------------------
    def mdns_announce(self):
        for svc in self.services:
            self.mdns_sock.sendto(svc.response(), (d.MDNS_GROUP, d.MDNS_PORT))

    def mdns_responder(self):
        while True:
            data, peer = self.mdns_sock.recvfrom(9000)
            if peer[0] == self.cfg["ip"]:
                continue
            asked = d.parse_questions(data)
            for svc in self.services:
                if any(svc.owns(q) for q in asked):
                    # RFC 6762 s6.7: a query from a port other than 5353 is a
                    # legacy resolver and gets a unicast answer.
                    dest = peer if peer[1] != d.MDNS_PORT else (d.MDNS_GROUP, d.MDNS_PORT)
                    # RFC 6762 s6: shared records wait 20-120 ms.
                    time.sleep(random.uniform(0.02, 0.12))
                    self.mdns_sock.sendto(svc.response(), dest)

    def ssdp_notify(self):
        s = self.cfg["ssdp"]
        for nt in s["nt"]:
            usn = s["uuid"] + ("::" + nt if nt != s["uuid"] else "")
            self.ssdp_sock.sendto(d.ssdp_notify(s["location"], nt, usn, s["server"]),
                                  (d.SSDP_GROUP, d.SSDP_PORT))

    def ssdp_responder(self):
        s = self.cfg["ssdp"]
        while True:
            data, peer = self.ssdp_sock.recvfrom(4096)
            text = data.decode("latin-1", "replace")
            if not text.startswith("M-SEARCH") or peer[0] == self.cfg["ip"]:
                continue
            st = ""
            for line in text.split("\r\n"):
                if line.lower().startswith("st:"):
                    st = line[3:].strip()
            targets = s["nt"] if st == "ssdp:all" else [st] if st in s["nt"] else []
            for nt in targets:
                time.sleep(random.uniform(0.05, 0.5))
                out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                out.bind((self.cfg["ip"], 0))
                out.sendto(d.ssdp_search_reply(s["location"], nt, s["uuid"] + "::" + nt, s["server"]), peer)
                out.close()

    def ssdp_unicast_responder(self):
        # UPnP 1.1 s1.3.3: a unicast M-SEARCH (sent to the device's address,
        # no MX) is answered at once, from port 1900, like miniupnpd and most
        # embedded stacks do; that is what makes SSDP usable for reflection.
        # Bound to the device's own address, this socket gets the unicast
        # datagrams; multicast still goes to the group socket above.
        s = self.cfg["ssdp"]
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.cfg["ip"], d.SSDP_PORT))
        while True:
            data, peer = sock.recvfrom(4096)
            text = data.decode("latin-1", "replace")
            if not text.startswith("M-SEARCH"):
                continue
            st = ""
            for line in text.split("\r\n"):
                if line.lower().startswith("st:"):
                    st = line[3:].strip()
            targets = s["nt"] if st == "ssdp:all" else [st] if st in s["nt"] else []
            for nt in targets:
                try:
                    sock.sendto(d.ssdp_search_reply(s["location"], nt, s["uuid"] + "::" + nt, s["server"]), peer)
                except OSError:
                    pass

    # --- periodic tasks --------------------------------------------------
    def task(self, idx, t):
        rng = self.rng(f"task{idx}")
        lo, hi = t.get("every", [30, 60])
        time.sleep(rng.uniform(0.5, min(lo, 8)))
        while True:
            try:
                self.do(t, rng)
            except OSError as e:
                log(f"{t['kind']}: {e}")
            time.sleep(rng.uniform(lo, hi))

    def do(self, t, rng):
        k = t["kind"]
        if k == "ntp":
            run(["ntpdig", "-4", "-t", "2", t["server"]])
        elif k == "dns":
            name = rng.choice(t["names"])
            try:
                socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
            except socket.gaierror as e:
                log(f"dns {name}: {e}")
        elif k == "mqtt_pub":
            reading = {"t": round(rng.gauss(21.5, 1.2), 2), "h": round(rng.gauss(45, 4), 1),
                       "bat": rng.randint(70, 100), "ts": int(time.time())}
            run(["mosquitto_pub", "-h", t["broker"], "-u", t["user"], "-P", t["password"],
                 "-i", self.cfg["name"], "-q", "1", "-t", t["topic"], "-m", json.dumps(reading)])
        elif k == "http":
            url = rng.choice(t["urls"])
            cmd = ["curl", "-s", "-o", "/dev/null", "--max-time", "5", "-A",
                   "Home/3.2 CFNetwork/1410.0.3 Darwin/22.6.0"]
            if t.get("auth"):
                cmd += ["-u", t["auth"]]
            run(cmd + [url])
        elif k == "mdns_announce":
            self.mdns_announce()
        elif k == "mdns_query":
            self.mdns_sock.sendto(d.mdns_query(t["names"]), (d.MDNS_GROUP, d.MDNS_PORT))
        elif k == "ssdp_search":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
            s.bind((self.cfg["ip"], 0))
            s.settimeout(3)
            s.sendto(d.ssdp_msearch(rng.choice(["ssdp:all", "upnp:rootdevice"])),
                     (d.SSDP_GROUP, d.SSDP_PORT))
            try:
                while True:
                    s.recvfrom(4096)
            except OSError:
                pass
            s.close()
        elif k == "mqtt_sub":
            while True:  # a long-lived subscriber with keep-alive pings
                run(["mosquitto_sub", "-h", t["broker"], "-u", t["user"], "-P", t["password"],
                     "-i", self.cfg["name"], "-k", "30", "-t", t["topic"]], timeout=10 ** 6)
                time.sleep(5)

    def start(self):
        threads = []
        if self.services:
            # Start-up announcement, sent twice a second apart (RFC 6762 s8.3).
            self.mdns_announce()
            threads.append(self.mdns_responder)
        if self.mdns_sock and not self.services:
            threads.append(self.drain_mdns)
        if self.cfg["ssdp"]:
            threads.append(self.ssdp_responder)
            threads.append(self.ssdp_unicast_responder)
            threads.append(self.ssdp_loop)
        for th in threads:
            threading.Thread(target=th, daemon=True).start()
        if self.services:
            time.sleep(1)
            self.mdns_announce()
        for i, t in enumerate(self.cfg["tasks"]):
            threading.Thread(target=self.task, args=(i, t), daemon=True).start()
        while True:
            time.sleep(3600)

    def drain_mdns(self):
        while True:
            self.mdns_sock.recvfrom(9000)

    def ssdp_loop(self):
        rng = self.rng("ssdp")
        lo, hi = self.cfg["ssdp"].get("every", [30, 60])
        time.sleep(rng.uniform(0.2, 2))
        while True:
            self.ssdp_notify()
            time.sleep(rng.uniform(lo, hi))


def main():
    with open(sys.argv[1]) as fh:
        cfg = json.load(fh)
    log(f"start {cfg['name']} {cfg['ip']} role={cfg['role']}")
    Device(cfg).start()


if __name__ == "__main__":
    main()
