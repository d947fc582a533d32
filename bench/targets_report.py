"""Turn a bench/remote-targets.sh results directory into markdown: the raw store's figures, one
table of every measured figure per backend, the targets with PASS/MISS, and the counters that
explain them (GETs per cold read, cache hit rates). Missing figures print as n/a and their
targets as "not measured".

usage: targets_report.py RESULTS_DIR BACKEND...
"""
import json
import os
import sys

MIB = 1 << 20
GIB = 1 << 30
TITLES = {"file": "file (objects on disk)", "s3": "s3 (Ceph RGW)", "s3-delay": "s3 + delay 20 ms"}
CACHE_MEMORY_MIB = 256
FIXED_OVERHEAD_MIB = 64   # docs/engine.md, "Memory"
DISK_CACHE_INDEX_MIB = 38  # the disk cache's index connections and queued inserts (same table)
DISK_CACHE_BYTES = 4 * GIB
VOLUME_BYTES = 2 * GIB


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def fio(path, direction):
    try:
        with open(path) as f:
            job = json.load(f)["jobs"][0]
    except (OSError, ValueError, KeyError, IndexError):
        return None
    return None if job.get("error") else job[direction]


def number(path):
    text = read(path)
    try:
        return float(text) if text else None
    except ValueError:
        return None


def metrics(path):
    values = {}
    for line in (read(path) or "").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                pass
    return values


def delta(d, before, after, name):
    a, b = metrics(os.path.join(d, after)), metrics(os.path.join(d, before))
    if not a:
        return None
    return a.get("blockpipe_" + name, 0) - b.get("blockpipe_" + name, 0)


def figures(out, b):
    d = os.path.join(out, b)
    f = {}
    wall = number(os.path.join(d, "seqwrite.wall"))
    side = fio(os.path.join(d, "seqwrite.json"), "write")
    if wall and side:
        f["write"] = side["io_bytes"] / MIB / wall
    side = fio(os.path.join(d, "coldread.json"), "read")
    if side:
        f["cold"] = side["bw_bytes"] / MIB
    side = fio(os.path.join(d, "warmpass.json"), "read")
    if side:
        f["warmpass"] = side["bw_bytes"] / MIB
    side = fio(os.path.join(d, "randread.json"), "read")
    if side:
        f["rand"] = side["iops"]
    side = fio(os.path.join(d, "restartread.json"), "read")
    if side:
        f["restart"] = side["iops"]
    text = read(os.path.join(d, "sqlite.json"))
    if text:
        f["sqlite"] = json.loads(text)["commits_per_s"]
    for key, name in (("rss_busy", "rss-busy.txt"), ("rss_idle", "rss-idle.txt"),
                      ("disk_cache", "disk-cache-bytes.txt")):
        v = number(os.path.join(d, name))
        if v is not None:
            f[key] = v
    # Counters: what each phase cost the store and how the caches answered.
    gets = sum(filter(None, (delta(d, "cold-before.prom", "cold-after.prom", k)
                             for k in ("s3_get_requests", "s3_read_requests"))))
    if b != "file" and gets:
        f["cold_gets"] = gets
    for key, before, after, name in (
            ("rand_dc_hits", "rand-before.prom", "rand-after.prom", "disk_cache_hits_total"),
            ("rand_dc_misses", "rand-before.prom", "rand-after.prom", "disk_cache_misses_total"),
            ("rand_mc_hits", "rand-before.prom", "rand-after.prom", "unit_cache_hits_total"),
            ("rand_mc_misses", "rand-before.prom", "rand-after.prom", "unit_cache_misses_total"),
            ("cold_readahead", "cold-before.prom", "cold-after.prom", "read_ahead_units_total")):
        v = delta(d, before, after, name)
        if v is not None:
            f[key] = v
    restart = metrics(os.path.join(d, "restart-after.prom"))
    if restart:
        f["restart_dc_hits"] = restart.get("blockpipe_disk_cache_hits_total", 0)
        f["restart_dc_misses"] = restart.get("blockpipe_disk_cache_misses_total", 0)
    return f


def local(out):
    d = os.path.join(out, "local")
    v = {}
    for server in ("blockpipe", "nbdkit-memory", "nbdkit-file"):
        for job, direction in (("seqwrite-1m-qd8", "write"), ("seqread-1m-qd8", "read")):
            side = fio(os.path.join(d, server, job + ".1.json"), direction)
            if side:
                v[(server, job)] = side["bw_bytes"] / MIB
    return v


def fmt(value, unit):
    if value is None:
        return "n/a"
    return {"mibs": f"{value:,.0f} MiB/s", "iops": f"{value:,.0f} IOPS", "cps": f"{value:,.0f}/s",
            "mib": f"{value:,.0f} MiB"}[unit]


def table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def main():
    out, backends = sys.argv[1], sys.argv[2:]
    raw = json.loads(read(os.path.join(out, "raw.json")) or "null")
    if raw:
        print(f"Raw store (bench/s3_raw.py, {raw['threads']} threads, {raw['object_mib']} MiB objects, "
              f"{raw['objects']} objects): **PUT {raw['put_mibs']:,.0f} MiB/s, GET {raw['get_mibs']:,.0f} MiB/s**\n")
    f = {b: figures(out, b) for b in backends}
    rows = []
    for key, title, unit in (
            ("write", "durable 1 MiB seq write qd8, 2 GiB + FLUSH (store mode)", "mibs"),
            ("cold", "cold 1 MiB seq read qd8, 1 GiB (disk cache off)", "mibs"),
            ("warmpass", "warm pass: 1 MiB seq read qd8, 2 GiB (disk cache on)", "mibs"),
            ("rand", "4 KiB random read qd32, 2 GiB, after the warm pass", "iops"),
            ("restart", f"4 KiB random read qd32, first 15 s after restart", "iops"),
            ("sqlite", "SQLite commits/s (ext4, WAL, synchronous=FULL, journal on)", "cps"),
            ("rss_busy", "daemon RSS right after the random reads", "mib"),
            ("rss_idle", "daemon RSS 3 s idle after them", "mib")):
        rows.append([title] + [fmt(f[b].get(key), unit) for b in backends])
    rows.append(["disk cache on disk (du) / size"] + [
        "n/a" if "disk_cache" not in f[b] else f"{f[b]['disk_cache'] / MIB:,.0f} / 4,096 MiB" for b in backends])
    rows.append(["cold read: GETs (avg KiB each) / read-ahead units"] + [
        (f"{f[b]['cold_gets']:,.0f} ({GIB / f[b]['cold_gets'] / 1024:,.0f})" if f[b].get("cold_gets") else "n/a")
        + f" / {f[b].get('cold_readahead', 0):,.0f}" for b in backends])
    rows.append(["random reads: memory cache hits / misses; disk cache hits / misses"] + [
        f"{f[b].get('rand_mc_hits', 0):,.0f} / {f[b].get('rand_mc_misses', 0):,.0f}; "
        f"{f[b].get('rand_dc_hits', 0):,.0f} / {f[b].get('rand_dc_misses', 0):,.0f}" for b in backends])
    rows.append(["first 15 s after restart: disk cache hits / misses"] + [
        f"{f[b].get('restart_dc_hits', 0):,.0f} / {f[b].get('restart_dc_misses', 0):,.0f}" for b in backends])
    table(["figure"] + [TITLES[b] for b in backends], rows)

    targets = []

    def judge(title, value, reference, factor, unit, ref_title):
        if value is None or reference is None:
            targets.append([title, "not measured", "", ""])
            return
        ratio = value / reference
        verdict = "PASS" if ratio >= factor else f"MISS (by {100 * (factor - ratio) / factor:.0f}%)"
        targets.append([title, f"{fmt(value, unit)} vs {fmt(reference, unit)} ({ref_title})",
                        f"{ratio:.2f}× (≥ {factor}×)", f"**{verdict}**"])

    fb = f.get("file", {})
    for b in ("s3", "s3-delay"):
        if b in f:
            judge(f"SQLite commits/s, {TITLES[b]}", f[b].get("sqlite"), fb.get("sqlite"), 0.8, "cps", "file")
    for b in ("s3", "s3-delay"):
        if b in f:
            judge(f"4 KiB random read qd32 after warm pass, {TITLES[b]}", f[b].get("rand"), fb.get("rand"),
                  0.5, "iops", "file")
            judge(f"4 KiB random read qd32, first 15 s after restart, {TITLES[b]}", f[b].get("restart"),
                  fb.get("restart"), 0.5, "iops", "file, first 15 s after restart")
    if "s3" in f:
        judge("cold 1 MiB seq read, s3", f["s3"].get("cold"), raw and raw["get_mibs"], 0.9, "mibs",
              "raw parallel GET")
    if "s3-delay" in f:
        judge("cold 1 MiB seq read, s3 + delay", f["s3-delay"].get("cold"), f.get("s3", {}).get("cold"), 0.7,
              "mibs", "s3 without delay")
    if "s3" in f:
        judge("durable 1 MiB seq write, s3", f["s3"].get("write"), raw and raw["put_mibs"], 0.9, "mibs",
              "raw parallel PUT")
    lv = local(out)
    if lv:
        judge("file backend default config: 1 MiB seq read qd8", lv.get(("blockpipe", "seqread-1m-qd8")),
              lv.get(("nbdkit-memory", "seqread-1m-qd8")), 0.8, "mibs", "nbdkit memory")
        judge("file backend default config: 1 MiB seq write qd8", lv.get(("blockpipe", "seqwrite-1m-qd8")),
              lv.get(("nbdkit-file", "seqwrite-1m-qd8")), 0.9, "mibs", "nbdkit file, same disk")
    bound = CACHE_MEMORY_MIB * 1.15 + FIXED_OVERHEAD_MIB + DISK_CACHE_INDEX_MIB
    for b in backends:
        for key, when in (("rss_busy", "right after random reads"), ("rss_idle", "idle")):
            v = f[b].get(key)
            if v is None:
                continue
            targets.append([f"daemon RSS {when}, {TITLES[b]}",
                            f"{v:,.0f} MiB vs {bound:,.0f} MiB (256 MiB + 15% + 64 MiB + disk cache 38 MiB)",
                            f"{v / bound:.2f}× (≤ 1×)", f"**{'PASS' if v <= bound else 'MISS'}**"])
        v = f[b].get("disk_cache")
        if v is not None:
            targets.append([f"disk cache on disk, {TITLES[b]}", f"{v / MIB:,.0f} MiB vs 4,096 MiB",
                            f"{v / DISK_CACHE_BYTES:.2f}× (≤ 1×)",
                            f"**{'PASS' if v <= DISK_CACHE_BYTES else 'MISS'}**"])
    if lv:
        print("File backend, default config (objects on disk, cache_memory 256 MiB), bench/run.sh:\n")
        table(["workload", "blockpipe", "nbdkit memory", "nbdkit file (same disk)"], [
            [title] + [fmt(lv.get((s, job)), "mibs") for s in ("blockpipe", "nbdkit-memory", "nbdkit-file")]
            for job, title in (("seqwrite-1m-qd8", "1 MiB seq write qd8"), ("seqread-1m-qd8", "1 MiB seq read qd8"))])
    print("Targets:\n")
    table(["target", "measured", "ratio", "verdict"], targets)
    loads = (read(os.path.join(out, "loads.txt")) or "").strip().splitlines()
    if loads:
        print("Load average at the start of each step:\n")
        for line in loads:
            parts = line.rsplit(" ", 3)
            print(f"- {parts[0]}: {' '.join(parts[1:])}")


if __name__ == "__main__":
    main()
