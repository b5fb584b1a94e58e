#!/usr/bin/env bash
# Two seed_track.py senders at once, N sessions each (the seed's way to use
# two cores: one asyncio process per core), merged into one JSON as if one
# run of 2N sessions: CPU, packets and real-time sessions add up; the
# deviation percentiles are the worse of the two (each process has its own
# histogram). Used by scripts/bench-sessions.sh:
#   bash scripts/seed-2proc.sh N WARMUP SECONDS --json FILE
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n=$1 warmup=$2 seconds=$3 json=$5
PY=/usr/bin/python3
$PY bench/seed_track.py --sessions "$n" --warmup "$warmup" --seconds "$seconds" \
  --json "$json.a" >/dev/null &
a=$!
$PY bench/seed_track.py --sessions "$n" --warmup "$warmup" --seconds "$seconds" \
  --json "$json.b" >/dev/null &
b=$!
wait $a
wait $b
$PY - "$json" <<'PYEOF'
import json, os, sys
out = sys.argv[1]
a, b = (json.load(open(out + s)) for s in (".a", ".b"))
m = dict(a)
m["mode"] = "seed-2proc"
m["processes"] = 2
m["sessions"] = a["sessions"] + b["sessions"]
for k in ("sender_cpu_s", "sender_cpu_cores"):
    m[k] = a[k] + b[k]
m["sender_cpu_per_session_percent"] = 100 * m["sender_cpu_cores"] / m["sessions"]
m["machine_busy_cores"] = max(a["machine_busy_cores"], b["machine_busy_cores"])
m["rss_per_session_kib"] = (a["rss_per_session_kib"] + b["rss_per_session_kib"]) / 2
m["all_flowing_before_warmup"] = a["all_flowing_before_warmup"] and b["all_flowing_before_warmup"]
ra, rb = a["receiver"] or {}, b["receiver"] or {}
r = dict(ra)
for k in ("sessions_realtime", "sessions_without_packets", "packets", "lost", "intervals",
          "receiver_cpu_s", "receiver_cpu_cores"):
    r[k] = ra.get(k, 0) + rb.get(k, 0)
r["deviation_us"] = {k: max(ra["deviation_us"][k], rb["deviation_us"][k])
                     for k in ra["deviation_us"] if k != "bin_us"}
r["deviation_us"]["bin_us"] = ra["deviation_us"]["bin_us"]
r["media_fraction_min"] = min(ra["media_fraction_min"], rb["media_fraction_min"])
r["media_fraction_median"] = min(ra["media_fraction_median"], rb["media_fraction_median"])
m["receiver"] = r
m["parts"] = [a, b]
json.dump(m, open(out, "w"))
os.remove(out + ".a")
os.remove(out + ".b")
PYEOF
