#!/usr/bin/env python3
"""The lab's device catalogue: who is on the network and what each one does.

`plan` prints one line per namespace (ns mac hostname dhcp-vendor-class role)
for the shell to build; `config` takes the addresses the devices actually got
by DHCP and writes devices.csv plus one JSON behaviour file per device, read by
benign.py inside that device's namespace.

MAC prefixes are real IEEE OUIs of each vendor (checked against nmap's
nmap-mac-prefixes); the lower three bytes are drawn from the run's seed.
"""
import argparse
import csv
import json
import os
import random
import sys

# name, role, OUI, hostname, DHCP vendor class, category, model, default creds
BASE = [
    ("gw", "gateway", "04:18:D6", "gateway", "", "network equipment",
     "Ubiquiti EdgeRouter X (dnsmasq DHCP+DNS, SNTP, web UI)", ""),
    ("srv", "broker", "B8:27:EB", "homeserver", "dhcpcd-9.4.1:Linux-6.1.21-v7+:armv7l:BCM2835",
     "server", "Raspberry Pi 3 Model B (Mosquitto 2.0 MQTT broker)", ""),
    ("cam", "camera", "28:57:BE", "hikvision-cam", "udhcp 1.35.0", "camera",
     "Hikvision DS-2CD2042WD (busybox httpd Basic auth, dropbear SSH)",
     "http:admin:12345;ssh:admin:12345"),
    ("dvr", "dvr", "BC:32:5F", "dahua-dvr", "udhcp 1.35.0", "camera",
     "Dahua-OEM 4-channel DVR (busybox telnetd)", "telnet:root:vizxv"),
    ("plug", "plug", "50:C7:BF", "tapo-plug", "udhcp 1.35.0", "plug/switch",
     "TP-Link Tapo P100 smart plug", ""),
    ("hub", "hub", "00:17:88", "philips-hue", "udhcp 1.35.0", "hub/bridge",
     "Philips Hue Bridge v2", ""),
    ("spk", "speaker", "F4:F5:D8", "google-home", "dhcpcd-6.8.2", "speaker/assistant",
     "Google Home Mini", ""),
    ("phone", "phone", "F0:18:98", "iphone", "", "phone/computer", "Apple iPhone", ""),
    ("atk", "attacker", "3C:A9:F4", "kali", "", "phone/computer",
     "attacker laptop (nmap, hydra, hping3, dsniff, dnsmasq)", ""),
]
SENSOR_OUIS = ["24:0A:C4", "A4:CF:12", "84:F3:EB", "3C:71:BF"]
PLUG_OUIS = ["98:DA:C4", "B0:95:75", "1C:3B:F3"]

MQTT_USERS = {"hub": ("hue-bridge", "Hu3-br1dge-2041")}


def catalogue(extra: int):
    devices = list(BASE)
    # One sensor always; extra devices alternate sensor/plug.
    n_sensors, n_plugs = 1, 0
    for i in range(extra + 1):
        if i % 2 == 0:
            n_sensors_i = n_sensors
            n_sensors += 1
            devices.insert(-2, (f"sens{n_sensors_i}", "sensor", SENSOR_OUIS[(n_sensors_i - 1) % 4],
                                f"esp-sensor-{n_sensors_i}", "udhcp 1.35.0", "sensor",
                                "ESP32 temperature/humidity sensor (MQTT publisher)", ""))
        else:
            n_plugs += 1
            devices.insert(-2, (f"plug{n_plugs + 1}", "plug", PLUG_OUIS[(n_plugs - 1) % 3],
                                f"kasa-plug-{n_plugs + 1}", "udhcp 1.35.0", "plug/switch",
                                "TP-Link Kasa HS110 smart plug", ""))
    return devices


def macs(devices, seed):
    rng = random.Random(f"mac:{seed}")
    out = {}
    for d in devices:
        tail = ":".join(f"{rng.randrange(256):02X}" for _ in range(3))
        out[d[0]] = (d[2] + ":" + tail).lower()
    return out


def cmd_plan(args):
    devices = catalogue(args.extra)
    mac = macs(devices, args.seed)
    for d in devices:
        print(d[0], mac[d[0]], d[3], (d[4] or "-").replace(" ", "_"), d[1])


def behaviour(d, ip, ips, seed):
    """The benign schedule of one device: tasks with [min,max] periods in seconds."""
    ns, role, host = d[0], d[1], d[3]
    gw, srv, hub = ips["gw"], ips["srv"], ips["hub"]
    cfg = {"ns": ns, "role": role, "name": host, "ip": ip, "gw": gw, "seed": seed,
           "mdns": [], "ssdp": None, "tasks": []}
    ntp = {"kind": "ntp", "server": gw, "every": [50, 80]}
    if role == "broker":
        cfg["tasks"] += [ntp, {"kind": "dns", "names": ["deb.debian.org", "archive.raspberrypi.org"],
                               "every": [120, 240]}]
    elif role == "camera":
        cfg["mdns"].append({"service": "_http._tcp", "instance": "HIKVISION DS-2CD2042WD",
                            "port": 80, "txt": ["path=/"]})
        cfg["ssdp"] = {"server": "Linux/3.0.8, UPnP/1.0, DS-2CD2042WD/V5.4.5",
                       "location": f"http://{ip}:80/upnpdevicedesc.xml",
                       "nt": ["upnp:rootdevice", "urn:schemas-upnp-org:device:Basic:1"],
                       "uuid": f"uuid:{seed:08x}-e8a2-11d3-8fe0-{ip.split('.')[-1].zfill(12)}",
                       "every": [25, 40]}
        cfg["tasks"] += [ntp, {"kind": "dns", "names": ["dev.hik-connect.com", "time.windows.com"],
                               "every": [40, 70]}]
    elif role == "dvr":
        cfg["tasks"] += [ntp, {"kind": "dns", "names": ["www.easy4ipcloud.com"], "every": [60, 100]}]
    elif role == "plug":
        cfg["mdns"].append({"service": "_hap._tcp", "instance": d[6].split(" smart")[0],
                            "port": 80, "txt": ["c#=2", "ff=2", "md=" + d[6].split(" smart")[0],
                                                "s#=1", "sf=1", "ci=7"]})
        cfg["tasks"] += [ntp, {"kind": "dns", "names": ["n-devs.tplinkcloud.com", "use1-api.tplinkra.com"],
                               "every": [20, 45]},
                         {"kind": "mdns_announce", "every": [60, 120]}]
    elif role == "sensor":
        n = host.rsplit("-", 1)[-1]
        cfg["tasks"] += [ntp,
                         {"kind": "mqtt_pub", "broker": "homeserver.home.lan", "user": f"sensor{n}",
                          "password": f"esp-s{n}-pw", "topic": f"home/sensor{n}/climate",
                          "every": [8, 16]}]
    elif role == "hub":
        cfg["mdns"].append({"service": "_hue._tcp", "instance": "Philips Hue - 6A1B2C",
                            "port": 443, "txt": ["bridgeid=001788fffe6a1b2c", "modelid=BSB002"]})
        cfg["ssdp"] = {"server": "Hue/1.0 UPnP/1.0 IpBridge/1.56.0",
                       "location": f"http://{ip}:80/description.xml",
                       "nt": ["upnp:rootdevice", "urn:schemas-upnp-org:device:basic:1"],
                       "uuid": "uuid:2f402f80-da50-11e1-9b23-001788" + "6a1b2c",
                       "every": [30, 60]}
        user, pw = MQTT_USERS["hub"]
        cfg["tasks"] += [ntp, {"kind": "mqtt_sub", "broker": srv, "user": user, "password": pw,
                               "topic": "home/#"},
                         {"kind": "dns", "names": ["ws.meethue.com", "diag.meethue.com"], "every": [60, 120]}]
    elif role == "speaker":
        cfg["mdns"].append({"service": "_googlecast._tcp", "instance": "Google-Home-Mini-5f1c",
                            "port": 8009, "txt": ["md=Google Home Mini", "fn=Living Room speaker",
                                                  "ve=05", "ca=199172", "st=0"]})
        cfg["tasks"] += [ntp, {"kind": "dns", "names": ["connectivitycheck.gstatic.com", "clients3.google.com",
                                                        "mtalk.google.com"], "every": [25, 50]},
                         {"kind": "mdns_announce", "every": [60, 120]}]
    elif role == "phone":
        cfg["tasks"] += [
            {"kind": "dns", "names": ["hikvision-cam.home.lan", "philips-hue.home.lan",
                                      "gateway.home.lan", "www.apple.com"], "every": [15, 30]},
            {"kind": "http", "urls": ["http://hikvision-cam.home.lan/ISAPI/Streaming/channels/101/picture"],
             "auth": "admin:12345", "every": [20, 40]},
            {"kind": "http", "urls": [f"http://{hub}/description.xml", f"http://{gw}/"],
             "every": [45, 90]},
            {"kind": "mdns_query", "names": ["_googlecast._tcp.local", "_hap._tcp.local", "_hue._tcp.local"],
             "every": [40, 80]},
            {"kind": "ssdp_search", "every": [60, 120]},
        ]
    return cfg


def cmd_config(args):
    devices = catalogue(args.extra)
    mac = macs(devices, args.seed)
    ips = {}
    for line in open(args.leases):
        parts = line.split()
        if len(parts) == 2:
            ips[parts[0]] = parts[1]
    missing = [d[0] for d in devices if d[0] not in ips]
    if missing:
        sys.exit(f"no address for: {' '.join(missing)}")
    os.makedirs(args.cfgdir, exist_ok=True)
    with open(args.csv, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["mac", "ip", "name", "category", "model", "default_credentials"])
        for d in devices:
            w.writerow([mac[d[0]], ips[d[0]], d[3], d[5], d[6], d[7]])
    mqtt_users = dict(MQTT_USERS.values())
    for d in devices:
        if d[1] in ("gateway", "attacker"):
            continue
        cfg = behaviour(d, ips[d[0]], ips, args.seed)
        for task in cfg["tasks"]:
            if task["kind"].startswith("mqtt"):
                mqtt_users[task["user"]] = task["password"]
        with open(os.path.join(args.cfgdir, d[0] + ".json"), "w") as fh:
            json.dump(cfg, fh, indent=1)
    # The broker's password file is built from exactly the accounts in use.
    with open(os.path.join(args.cfgdir, "mqtt-users.txt"), "w") as fh:
        for user, password in sorted(mqtt_users.items()):
            fh.write(f"{user} {password}\n")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("plan")
    a.add_argument("--seed", type=int, required=True)
    a.add_argument("--extra", type=int, default=1)
    b = sub.add_parser("config")
    b.add_argument("--seed", type=int, required=True)
    b.add_argument("--extra", type=int, default=1)
    b.add_argument("--leases", required=True, help="lines: ns ip")
    b.add_argument("--csv", required=True)
    b.add_argument("--cfgdir", required=True)
    args = p.parse_args()
    {"plan": cmd_plan, "config": cmd_config}[args.cmd](args)


if __name__ == "__main__":
    main()
