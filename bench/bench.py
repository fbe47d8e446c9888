#!/usr/bin/env python3
"""bench.py - postern against Postfix, side by side (make bench).

Starts a private postern and a private Postfix instance (each its own
config, queue and loopback ports; stock settings apart from what a
scenario needs), drives both with Postfix's smtp-source, alternating,
several repetitions, and prints medians and postern/Postfix ratios.
Absolute numbers on a shared machine are noise; ratios measured in the
same run are not.  Durability is untouched: both queues fsync as in
normal operation.

Measured per scenario: messages/s accepted (smtp-source finished),
messages/s delivered end to end, CPU seconds per 1000 messages (all
processes of the instance, children included), peak memory (PSS) of the instance,
and for the one-session latency scenario the p50/p99 of the reply to the
final dot.

usage: bench.py [--reps N] [--msgs N] [--only NAME,...] [--save]
  --save  store this run's medians as bench/baseline.json; every run
          compares with that file and flags a change worse than 10%.
Needs root (it creates a throwaway user whose Maildir receives the mail).
"""
import argparse, json, os, pwd, random, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
POSTERN = os.path.join(BUILD, "bin", "postern")
CLK = os.sysconf("SC_CLK_TCK")
DOMAIN = "bench.example"


def free_port():
    for _ in range(200):
        p = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
                return p
            except OSError:
                continue
    raise RuntimeError("no free port")


def wait_port(port, secs=20):
    end = time.time() + secs
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.recv(100)
                return True
        except OSError:
            time.sleep(0.1)
    return False


def tree(pid):
    """pid and all its descendants."""
    kids = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(p))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_rss(pid):
    """(CPU seconds incl. reaped children, PSS kB) of pid's tree."""
    cpu, rss = 0, 0
    for p in tree(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            cpu += sum(int(x) for x in fields[11:15])
            # PSS, not RSS: shared pages (libraries, the same binary in
            # many processes) are counted once across the instance.
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        rss += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return cpu / CLK, rss


class Instance:
    name = "?"

    def master_pid(self):
        with open(os.path.join(self.queue, "pid", "master.pid")) as f:
            return int(f.read().strip())

    def maildir_count(self):
        try:
            return len(os.listdir(self.maildir))
        except OSError:
            return 0

    def clear_maildir(self):
        if os.path.isdir(self.maildir):
            for f in os.listdir(self.maildir):
                os.unlink(os.path.join(self.maildir, f))


class Postern(Instance):
    name = "postern"

    def __init__(self, top, user, sink_port):
        self.dir = os.path.join(top, "postern")
        self.queue = os.path.join(self.dir, "queue")
        self.port = free_port()
        self.maildir = os.path.join(user.pw_dir, "Maildir-postern", "new")
        os.makedirs(self.dir)
        with open(os.path.join(self.dir, "main.cf"), "w") as f:
            f.write("""queue_directory = %s
daemon_directory = %s/libexec
maillog_file = %s/maillog
myhostname = mx.%s
mydomain = %s
mydestination = %s
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
home_mailbox = Maildir-postern/
relayhost = [127.0.0.1]:%d
transport_maps = inline:{relay.example=smtp:[127.0.0.1]:%d}
""" % (self.queue, BUILD, self.dir, DOMAIN, DOMAIN, DOMAIN, sink_port, sink_port))
        with open(os.path.join(self.dir, "master.cf"), "w") as f:
            # maxproc is postern's cap on concurrent sessions (the idle test).
            f.write("127.0.0.1:%d inet n - n - 20000 smtpd\n" % self.port)
            f.write("qmgr unix n - n 300 1 qmgr\nlocal unix - n n - - local\n")
            if os.path.exists(os.path.join(BUILD, "libexec", "smtp")):
                f.write("smtp unix - - n - - smtp\n")

    def start(self):
        subprocess.run([POSTERN, "start", "-c", self.dir], check=True, capture_output=True)
        if not wait_port(self.port):
            raise RuntimeError("postern did not come up")

    def stop(self):
        subprocess.run([POSTERN, "stop", "-c", self.dir], capture_output=True)

    def can_relay(self):
        return os.path.exists(os.path.join(BUILD, "libexec", "smtp"))


class Postfix(Instance):
    name = "postfix"

    def __init__(self, top, user, sink_port):
        self.dir = os.path.join(top, "postfix")
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "q")
        data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.maildir = os.path.join(user.pw_dir, "Maildir-postfix", "new")
        os.makedirs(self.etc)
        os.makedirs(self.queue)
        os.makedirs(data)
        shutil.chown(data, "postfix")
        src = "/etc/postfix/master.cf" if os.path.exists("/etc/postfix/master.cf") \
            else "/usr/share/postfix/master.cf.dist"
        shutil.copy(src, os.path.join(self.etc, "master.cf"))
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("""compatibility_level = 3.6
queue_directory = %s
data_directory = %s
myhostname = mx.%s
mydomain = %s
mydestination = %s
inet_interfaces = loopback-only
inet_protocols = ipv4
alias_maps =
alias_database =
home_mailbox = Maildir-postfix/
relayhost = [127.0.0.1]:%d
transport_maps = inline:{relay.example=smtp:[127.0.0.1]:%d}
smtp_dns_support_level = disabled
disable_dns_lookups = yes
maillog_file = %s/maillog
maillog_file_prefixes = %s
""" % (self.queue, data, DOMAIN, DOMAIN, DOMAIN, sink_port, sink_port, self.dir, self.dir))
        pc = ["postconf", "-c", self.etc]
        subprocess.run(pc + ["-M#", "smtp/inet"], check=True)
        subprocess.run(pc + ["-Me", "127.0.0.1:%d/inet=127.0.0.1:%d inet n - n - - smtpd" %
                             (self.port, self.port)], check=True)
        subprocess.run(pc + ["-F", "*/*/chroot = n"], check=True)
        subprocess.run(pc + ["-M", "postlog/unix-dgram=postlog unix-dgram n - n - 1 postlogd"],
                       check=True, capture_output=True)

    def start(self):
        subprocess.run(["postfix", "-c", self.etc, "start"], check=True, capture_output=True)
        if not wait_port(self.port):
            raise RuntimeError("postfix did not come up")

    def stop(self):
        subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True)
        time.sleep(0.5)

    def can_relay(self):
        return True


class Sink:
    """smtp-sink counting delivered messages: it logs nothing per
    message we could count cheaply, so count via -d dump files."""

    def __init__(self, top):
        self.port = free_port()
        self.dumps = os.path.join(top, "sink")
        os.makedirs(self.dumps)
        self.proc = None

    def start(self):
        # -u: user to run as; -d: one file per message; 256 parallel sessions.
        self.proc = subprocess.Popen(["smtp-sink", "-u", "nobody", "-d", self.dumps + "/%M%S.",
                                      "127.0.0.1:%d" % self.port, "256"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chmod(self.dumps, 0o777)
        if not wait_port(self.port):
            raise RuntimeError("smtp-sink did not come up")

    def count(self):
        n = 0
        for dp, _, files in os.walk(self.dumps):
            n += len(files)
        return n

    def clear(self):
        for dp, dirs, files in os.walk(self.dumps, topdown=False):
            for f in files:
                os.unlink(os.path.join(dp, f))
            for d in dirs:
                os.rmdir(os.path.join(dp, d))

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(5)


def latency_run(port, n, to):
    """One session, n messages of 4 KB, time of each final-dot reply."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = s.makefile("rb")

    def reply():
        while True:
            line = f.readline()
            if not line:
                raise EOFError
            if line[3:4] != b"-":
                return line

    reply()
    s.sendall(b"EHLO bench.client\r\n")
    reply()
    body = b"Subject: latency\r\n\r\n" + (b"x" * 76 + b"\r\n") * 52
    times = []
    for _ in range(n):
        s.sendall(b"MAIL FROM:<bench@client.example>\r\n")
        reply()
        s.sendall(b"RCPT TO:<%s>\r\n" % to.encode())
        reply()
        s.sendall(b"DATA\r\n")
        reply()
        s.sendall(body)
        t0 = time.perf_counter()
        s.sendall(b".\r\n")
        r = reply()
        times.append(time.perf_counter() - t0)
        if not r.startswith(b"250"):
            raise RuntimeError("not accepted: %r" % r)
    s.sendall(b"QUIT\r\n")
    s.close()
    return times


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


# name: (mode, sessions, msgs factor, size bytes, recipients per message)
SCENARIOS = {
    "local-maildir-4k-s20": ("local", 20, 1.0, 4096, 1),
    "relay-4k-s20": ("relay", 20, 1.0, 4096, 1),
    "relay-4k-s1": ("relay", 1, 0.25, 4096, 1),
    "relay-100k-s20": ("relay", 20, 0.25, 100 * 1024, 1),
    "relay-50rcpt-s20": ("relay", 20, 0.1, 4096, 50),
    "latency-local-s1": ("latency", 1, 0.2, 4096, 1),
}


def run_one(inst, sink, scen, msgs, user):
    mode, sess, factor, size, nrcpt = SCENARIOS[scen]
    n = max(20, int(msgs * factor))
    inst.clear_maildir()
    sink.clear()
    mpid = inst.master_pid()
    cpu0, _ = cpu_rss(mpid)
    peak = 0
    t0 = time.perf_counter()
    lat = None
    if mode == "latency":
        lat = latency_run(inst.port, n, "%s@%s" % (user.pw_name, DOMAIN))
        accepted = time.perf_counter()
        want, count = n, inst.maildir_count
    else:
        to = ("%s@%s" % (user.pw_name, DOMAIN)) if mode == "local" else "user@relay.example"
        args = ["smtp-source", "-s", str(sess), "-m", str(n), "-l", str(size), "-f", "bench@client.example",
                "-t", to, "-M", "bench.client"]
        if nrcpt > 1:
            args += ["-r", str(nrcpt)]
        p = subprocess.Popen(args + ["127.0.0.1:%d" % inst.port])
        while p.poll() is None:
            peak = max(peak, cpu_rss(mpid)[1])
            time.sleep(0.05)
        if p.returncode != 0:
            raise RuntimeError("smtp-source failed against %s" % inst.name)
        accepted = time.perf_counter()
        want = n * (nrcpt if mode == "relay" else 1)
        count = inst.maildir_count if mode == "local" else sink.count
        if mode == "relay" and nrcpt > 1:
            want = n  # the sink stores one file per message, however many recipients
    end = time.time() + 300
    while count() < want and time.time() < end:
        peak = max(peak, cpu_rss(mpid)[1])
        time.sleep(0.02)
    done = time.perf_counter()
    got = count()
    cpu1, rss = cpu_rss(mpid)
    peak = max(peak, rss)
    if got < want:
        raise RuntimeError("%s delivered %d of %d in %s" % (inst.name, got, want, scen))
    r = {"accept_per_s": n / (accepted - t0), "deliver_per_s": n / (done - t0),
         "cpu_ms_per_msg": (cpu1 - cpu0) * 1000 / n, "peak_pss_mb": peak / 1024}
    if lat:
        r["p50_ms"] = pct(lat, 50) * 1000
        r["p99_ms"] = pct(lat, 99) * 1000
    return r


def idle_sessions(inst, n):
    """n idle sessions; RSS of the instance and banner time of one more."""
    mpid = inst.master_pid()
    _, rss0 = cpu_rss(mpid)
    conns = []
    for _ in range(n):
        try:
            conns.append(socket.create_connection(("127.0.0.1", inst.port), timeout=10))
        except OSError:
            break
    time.sleep(2)
    _, rss = cpu_rss(mpid)
    t0 = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", inst.port), timeout=10) as s:
            s.recv(100)
            banner_ms = (time.perf_counter() - t0) * 1000
    except OSError:
        banner_ms = float("inf")
    for c in conns:
        c.close()
    return {"sessions": len(conns), "pss_mb": rss / 1024, "kb_per_session": (rss - rss0) / max(1, len(conns)),
            "banner_ms": banner_ms}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--msgs", type=int, default=2000)
    ap.add_argument("--only", default="")
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--save", action="store_true")
    a = ap.parse_args()
    if os.getuid() != 0:
        sys.exit("bench.py needs root (a throwaway user, a private Postfix)")
    import resource
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.idle + 1000), hard))
    only = [x for x in a.only.split(",") if x]
    top = tempfile.mkdtemp(prefix="postern-bench.")
    os.chmod(top, 0o755)
    uname = "pbench%04x" % random.randint(0, 0xffff)
    subprocess.run(["useradd", "-m", "-d", os.path.join(top, "home"), "-s", "/bin/sh", uname], check=True)
    user = pwd.getpwnam(uname)
    insts = []
    sink = Sink(top)
    try:
        sink.start()
        insts = [Postern(top, user, sink.port), Postfix(top, user, sink.port)]
        for i in insts:
            i.start()
        results = {}
        for scen in SCENARIOS:
            if only and scen not in only:
                continue
            if SCENARIOS[scen][0] == "relay" and not insts[0].can_relay():
                print("%-22s skipped: postern has no smtp client in %s yet" % (scen, BUILD))
                continue
            runs = {i.name: [] for i in insts}
            for rep in range(a.reps):
                order = insts if rep % 2 == 0 else insts[::-1]
                for i in order:
                    runs[i.name].append(run_one(i, sink, scen, a.msgs, user))
            results[scen] = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
                             for name, rs in runs.items()}
            report(scen, results[scen])
        if not only or "idle" in only:
            results["idle"] = {"postern": idle_sessions(insts[0], a.idle)}
            r = results["idle"]["postern"]
            print("%-22s postern: %d idle sessions, %.0f MB total PSS, %.1f kB/session, new banner in %.0f ms"
                  % ("idle-sessions", r["sessions"], r["pss_mb"], r["kb_per_session"], r["banner_ms"]))
        compare(results, a.save)
        out = os.path.join(ROOT, "bench", "last.json")
        with open(out, "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%d %H:%M"), "msgs": a.msgs, "reps": a.reps,
                       "results": results}, f, indent=1)
        print("results in %s" % out)
    finally:
        for i in insts:
            i.stop()
        sink.stop()
        subprocess.run(["userdel", "-r", uname], capture_output=True)
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(top, ignore_errors=True)


def report(scen, r):
    pe, pf = r["postern"], r["postfix"]
    print("%-22s %-16s %10s %10s %8s" % (scen, "", "postern", "postfix", "ratio"))
    for k in pe:
        better_low = k in ("cpu_ms_per_msg", "peak_pss_mb", "p50_ms", "p99_ms")
        ratio = pe[k] / pf[k] if pf[k] else float("inf")
        print("%-22s %-16s %10.2f %10.2f %7.2fx%s" % ("", k, pe[k], pf[k], ratio, " (lower is better)" if better_low else ""))
    sys.stdout.flush()


def compare(results, save):
    path = os.path.join(ROOT, "bench", "baseline.json")
    if save:
        with open(path, "w") as f:
            json.dump(results, f, indent=1)
        print("baseline saved to %s" % path)
        return
    if not os.path.exists(path):
        print("no bench/baseline.json to compare with (make it with: bench.py --save)")
        return
    with open(path) as f:
        base = json.load(f)
    worse = []
    for scen, r in results.items():
        if scen == "idle" or scen not in base:
            continue
        # Compare ratios against Postfix, not absolute figures: the machine
        # is shared, the ratio measured side by side is what holds.
        for k in r["postern"]:
            try:
                now = r["postern"][k] / r["postfix"][k]
                then = base[scen]["postern"][k] / base[scen]["postfix"][k]
            except (KeyError, ZeroDivisionError):
                continue
            lower_better = k in ("cpu_ms_per_msg", "peak_pss_mb", "p50_ms", "p99_ms")
            change = (now - then) / then if then else 0
            if (lower_better and change > 0.10) or (not lower_better and change < -0.10):
                worse.append("%s %s: ratio %.2f, was %.2f" % (scen, k, now, then))
    if worse:
        print("SLOWER than bench/baseline.json by more than 10%:")
        for w in worse:
            print("  " + w)
    else:
        print("no regression against bench/baseline.json (10% margin)")


if __name__ == "__main__":
    main()
