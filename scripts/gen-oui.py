#!/usr/bin/env python3
"""Generate ward's MAC-vendor table from the IEEE registry CSVs.

Regenerate (Debian/Ubuntu):

    apt-get install ieee-data          # or: apt-get install --only-upgrade ieee-data
    python3 scripts/gen-oui.py         # writes crates/ward-oui/data/oui.tsv
    cargo test -p ward-oui             # the tests check the table parses cleanly

Options: ``--src DIR`` (default /usr/share/ieee-data) reads the CSVs from another
directory, e.g. fresh downloads from https://standards-oui.ieee.org/ (oui/oui.csv,
oui28/mam.csv, oui36/oui36.csv, iab/iab.csv); ``--out FILE`` writes elsewhere.
Set ``SOURCE_DATE_EPOCH`` to pin the "Generated" date for reproducible output.
Only the Python standard library is used.

Inputs (all four share the header Registry,Assignment,Organization Name,Organization Address):

* oui.csv    MA-L: 24-bit prefixes (6 hex digits)
* mam.csv    MA-M: 28-bit prefixes (7 hex digits)
* oui36.csv  MA-S: 36-bit prefixes (9 hex digits)
* iab.csv    IAB (the retired predecessor of MA-S): 36-bit prefixes (9 hex digits)

Output format (UTF-8 text, one line per organisation, sorted by name)::

    # comment lines (source, versions, date, terms, counts)
    NAME<TAB>PREFIX[ PREFIX...]

A prefix's length gives its size: 6 hex digits = 24 bits, 7 = 28, 9 = 36.
Grouping prefixes under their organisation stores each name once, which keeps
the table near 1 MB instead of ~1.6 MB for one "prefix, bits, name" line per
assignment, and keeps diffs between registry snapshots readable.

What is normalised or left out, and why:

* Names: Unicode NFKC (turns no-break spaces, en spaces and full-width
  punctuation such as "，" into their plain forms), whitespace runs collapsed to
  one space, surrounding whitespace and trailing "." "," ";" removed. The
  registered spelling is otherwise kept (no case folding, no suffix stripping).
* "IEEE Registration Authority" MA-L blocks are dropped: they are the parents
  that the IEEE subdivides into MA-M/MA-S/IAB assignments, so a device address
  in one belongs to some sub-assignee, never to the IEEE. An address in a
  sub-block missing from this snapshot is better reported as unknown.
* "Private" assignments (owner withheld at the registrant's request) are dropped:
  "Private" is not a vendor. The script checks that no dropped assignment lies
  inside a kept, less specific one, where dropping it would make lookups fall
  back to the wrong owner; it fails loudly if a future snapshot breaks that.
  Names with no letter or digit at all (one MA-S entry reads "??????????", an
  encoding accident at the source) are treated the same way.
* Assignments whose first octet has the U/L (locally administered) or I/G
  (group) bit set: a handful of pre-IEEE-802 legacy blocks (e.g. DEC's AA-00-0x).
  ward's lookup treats locally administered addresses as randomised and never
  resolves them, and clears the I/G bit before searching, so these entries could
  never match; they are dropped.
* A prefix registered to several organisations (two historic MA-L cases) keeps
  all names, sorted and joined with " / ", so the table stays deterministic.
"""

import argparse
import csv
import datetime
import os
import subprocess
import sys
import unicodedata
from collections import defaultdict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "crates", "ward-oui", "data", "oui.tsv")

# file name -> (registry label expected in column 0, prefix length in hex digits)
SOURCES = [
    ("oui.csv", "MA-L", 6),
    ("mam.csv", "MA-M", 7),
    ("oui36.csv", "MA-S", 9),
    ("iab.csv", "IAB", 9),
]

IEEE_TERMS = (
    "IEEE does not assert any copyright in the OUI Public Listing or attempt to "
    "restrict distribution of the listing in any way. The IEEE Registration "
    "Authority does, however, strongly encourage those who use the list to obtain "
    "it directly from IEEE (and to update it on a regular basis) to ensure the "
    "integrity of the information. (Terms as quoted in Debian's ieee-data copyright file.)"
)

PARENT_BLOCK_OWNER = "IEEE Registration Authority"
WITHHELD_OWNER = "Private"


def normalise_name(raw):
    name = " ".join(unicodedata.normalize("NFKC", raw).split())
    return name.rstrip(" .,;")


def ieee_data_version():
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "ieee-data"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return out or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not installed via dpkg)"


def snapshot_date(src):
    """The registry download date Debian records in .lastupdate (Unix time)."""
    try:
        with open(os.path.join(src, ".lastupdate"), encoding="ascii") as f:
            ts = int(f.read().strip())
        return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).date().isoformat()
    except (OSError, ValueError):
        return "unknown"


def read_registry(path, label, digits):
    """Yield (prefix_hex_upper, raw_name) rows, checking each row's shape."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header[:3] != ["Registry", "Assignment", "Organization Name"]:
            sys.exit(f"{path}: unexpected header {header!r}")
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) < 3 or row[0] != label:
                sys.exit(f"{path}:{lineno}: unexpected row {row!r}")
            prefix = row[1].strip().upper()
            if len(prefix) != digits or any(c not in "0123456789ABCDEF" for c in prefix):
                sys.exit(f"{path}:{lineno}: bad assignment {row[1]!r}")
            yield prefix, row[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default="/usr/share/ieee-data")
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()

    owners = defaultdict(set)  # prefix -> set of normalised names
    dropped = defaultdict(int)  # reason -> count
    dropped_prefixes = []  # prefixes of dropped sub-assignments (for the shadow check)
    per_registry = {}
    used_files = []

    for fname, label, digits in SOURCES:
        path = os.path.join(args.src, fname)
        if not os.path.exists(path):
            if fname == "iab.csv":
                continue  # the IAB registry is closed; some mirrors omit it
            sys.exit(f"missing {path}")
        used_files.append(fname)
        n = 0
        for prefix, raw in read_registry(path, label, digits):
            n += 1
            name = normalise_name(raw)
            first_octet = int(prefix[:2], 16)
            if first_octet & 0x03:
                dropped["U/L or I/G bit set in first octet (legacy, never matched)"] += 1
                continue
            if name == WITHHELD_OWNER or not any(c.isalnum() for c in name):
                dropped["owner withheld (Private) or name without letters/digits"] += 1
                dropped_prefixes.append(prefix)
                continue
            if name == PARENT_BLOCK_OWNER and digits == 6:
                dropped["IEEE Registration Authority parent blocks"] += 1
                continue
            if name.startswith("#") or "\t" in name:
                sys.exit(f"{path}: name {name!r} would break the table format")
            owners[prefix].add(name)
        per_registry[label] = n

    # A dropped sub-assignment inside a kept, less specific one would make the
    # lookup answer with the outer owner, which is wrong; refuse rather than lie.
    kept = set(owners)
    for p in dropped_prefixes:
        for cut in (6, 7):
            if cut < len(p) and p[:cut] in kept:
                sys.exit(
                    f"withheld assignment {p} lies inside kept {p[:cut]} "
                    f"({sorted(owners[p[:cut]])}); the table format needs a 'withheld' marker"
                )

    by_name = defaultdict(list)
    multi_owner = 0
    for prefix, names in owners.items():
        if len(names) > 1:
            multi_owner += 1
        by_name[" / ".join(sorted(names))].append(prefix)

    counts = defaultdict(int)
    for p in owners:
        counts[len(p)] += 1

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        generated = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
    else:
        generated = datetime.datetime.now(datetime.timezone.utc)

    lines = [
        "# ward MAC vendor table. GENERATED by scripts/gen-oui.py; do not edit by hand.",
        f"# Source: IEEE Registration Authority public listings, via Debian package "
        f"ieee-data {ieee_data_version()}",
        f"#   files: {', '.join(used_files)} (registry snapshot {snapshot_date(args.src)})",
        f"#   rows read: "
        + ", ".join(f"{k} {v}" for k, v in per_registry.items()),
        f"# Generated: {generated.date().isoformat()}",
        f"# Terms: {IEEE_TERMS}",
        "# Format: NAME<TAB>PREFIX[ PREFIX...]; a prefix of 6/7/9 hex digits is a 24/28/36-bit",
        "#   assignment (MA-L / MA-M / MA-S or IAB). Names are NFKC-normalised, whitespace",
        "#   collapsed, trailing '.,;' removed; a prefix with several registered owners lists",
        "#   them joined by ' / '.",
        f"# Assignments: {len(owners)} (24-bit {counts[6]}, 28-bit {counts[7]}, 36-bit {counts[9]}); "
        f"organisations: {len(by_name)}; prefixes with several owners: {multi_owner}",
    ]
    for reason, n in sorted(dropped.items()):
        lines.append(f"# Dropped: {n} {reason}")

    for name in sorted(by_name, key=lambda s: (s.casefold(), s)):
        prefixes = sorted(by_name[name], key=lambda p: (len(p), p))
        lines.append(f"{name}\t{' '.join(prefixes)}")

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    size = os.path.getsize(args.out)
    print(
        f"wrote {args.out}: {len(owners)} assignments, {len(by_name)} organisations, {size} bytes",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
