#!/usr/bin/env python3
"""bench.py: the benchmark harness behind bench/run (issue 6). Measures our MTA, a private Postfix
and Haraka on the same loopback set-up in the same run and writes bench/RESULTS.md.

Everything it starts is a child in its own process group (or, for Postfix and rspamd, a private
instance with its own directories) and is stopped in `finally`, on SIGTERM/SIGINT/SIGHUP too. Every
load is bounded: a message count, a wall-clock timeout per run, and a bound on every wait.

Placement (2 cores): the server under test (MTA / Postfix master and every child / Haraka / rspamd)
on core 0; smtp-source, smtp-sink, the latency probe and the idle-session client on core 1.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
REPO = os.path.dirname(BENCH)
RUNROOT = os.path.join(BENCH, ".run")
SERVER_CORE = "0"
HARNESS_CORE = "1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
FROM = "sender@bench.test"
TO = "rcpt@bench.test"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# processes

class Procs:
    """Children we started, each leading its own process group; stopped by id, never by name."""

    def __init__(self, state_dir):
        self.items = []
        self.pidfile = os.path.join(state_dir, "pids")
        self.postfix_dirs = os.path.join(state_dir, "postfix-dirs")
        open(self.pidfile, "w").close()
        open(self.postfix_dirs, "w").close()

    def _record(self):
        with open(self.pidfile, "w") as f:
            for p in self.items:
                if p.poll() is None:
                    f.write(f"{p.pid}\n")

    def spawn(self, argv, out=None, env=None, stdin=subprocess.DEVNULL, stdout=None):
        """Starts argv in a new session; output (or, with stdout=PIPE, its stderr) to the file `out`."""
        sink = open(out, "ab") if out else subprocess.DEVNULL
        if stdout is None:
            p = subprocess.Popen(argv, stdin=stdin, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        else:
            p = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=sink, start_new_session=True, env=env)
        self.items.append(p)
        self._record()
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=15):
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(10)
        if p in self.items:
            self.items.remove(p)
        self._record()

    def add_postfix(self, conf):
        with open(self.postfix_dirs, "a") as f:
            f.write(conf + "\n")

    def stop_all(self):
        for p in list(self.items):
            self.stop(p, timeout=10)


def on_signal(signum, _frame):
    raise SystemExit(f"stopped by signal {signum}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_greeting(port, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(5)
                data = s.recv(512)
                if data.startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return
                last = data
        except OSError as e:
            last = e
        time.sleep(0.2)
    raise RuntimeError(f"{what}: no 220 greeting on 127.0.0.1:{port} within {timeout}s (last: {last})")


def wait_port(port, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what}: nothing listening on 127.0.0.1:{port} within {timeout}s")


def run(argv, timeout=60, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}): {r.stdout}{r.stderr}")
    return r


# ---------------------------------------------------------------------------------------------
# /proc: CPU time of a process tree, resident memory

def proc_table():
    """pid -> (ppid, utime+stime+cutime+cstime in ticks, comm)."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rpar = s.rfind(")")
        comm = s[s.find("(") + 1:rpar]
        fields = s[rpar + 2:].split()
        # fields[0] is state (field 3); utime is field 14 -> index 11
        ppid = int(fields[1])
        ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        table[int(name)] = (ppid, ticks, comm)
    return table


def tree_pids(roots, table=None):
    table = table or proc_table()
    children = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = set(), [r for r in roots if r in table]
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.add(p)
        todo.extend(children.get(p, []))
    return out


def tree_cpu_seconds(roots):
    """CPU seconds (user+system) of the live tree plus every descendant it has reaped (cutime/cstime)."""
    table = proc_table()
    return sum(table[p][1] for p in tree_pids(roots, table)) / CLK_TCK


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def smaps_rollup_kib(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[-1] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---------------------------------------------------------------------------------------------
# servers

class Sink:
    """Postfix's smtp-sink on core 1: the downstream of every relay mode and the ceiling's target."""

    def __init__(self, procs, root):
        self.procs, self.root = procs, root
        self.port = free_port()
        self.p = None

    def start(self):
        self.p = self.procs.spawn(["taskset", "-c", HARNESS_CORE, "/usr/sbin/smtp-sink", "-u", "nobody", "-h", "sink.bench.test",
                                   f"127.0.0.1:{self.port}", "1024"], out=os.path.join(self.root, "smtp-sink.log"))
        wait_greeting(self.port, 10, "smtp-sink")

    def stop(self):
        if self.p:
            self.procs.stop(self.p)


class Server:
    name = "?"
    label = "?"
    family = "?"
    kind = "?"  # prequeue | queue | accept | proxy | ceiling
    port = 0

    def roots(self):
        return []

    def queue_count(self):
        return 0

    def start(self):
        pass

    def stop(self):
        pass


class Ceiling(Server):
    family, kind = "harness", "ceiling"
    name, label = "ceiling", "harness ceiling: smtp-source -> smtp-sink"

    def __init__(self, sink):
        self.sink = sink
        self.port = sink.port


MTA_MODES = {
    "prequeue": ("mta-prequeue", "our MTA: pre-queue delivery to the sink"),
    "queue": ("mta-queue", "our MTA: durable local queue, then relay to the sink"),
    "accept": ("mta-accept", "our MTA: accept to the durable queue only (runner discards)"),
}


class Mta(Server):
    family = "mta"

    def __init__(self, procs, root, build, sink, kind, extra=None, perfmap=False, milter=None):
        self.procs, self.build, self.sink, self.kind, self.milter = procs, build, sink, kind, milter
        self.name, self.label = MTA_MODES[kind]
        if milter:
            self.name += "+rspamd"
            self.label += ", rspamd milter"
        self.dir = os.path.join(root, self.name + (("-" + extra[0]) if extra else ""))
        self.extra = extra[1] if extra else []
        self.port = free_port()
        self.p = None
        self.perfmap = perfmap

    def main_cf(self):
        lines = [
            f"smtpd_listen = 127.0.0.1:{self.port}",
            f"data_directory = {self.dir}/data",
            "myhostname = mta.bench.test",
            "mydestination =",
            "mynetworks = 127.0.0.0/8",
            "smtpd_client_connection_count_limit = 0",
            "smtpd_session_limit = 20000",
            "smtp_tls_security_level = none",
            "queue_run_delay = 1s",
            "minimal_backoff_time = 1s",
            "maximal_backoff_time = 2s",
        ]
        if self.kind in ("prequeue", "queue"):
            lines.append(f"relayhost = [127.0.0.1]:{self.sink.port}")
        if self.kind in ("queue", "accept"):
            lines.append("prequeue_max_inflight = 0")
        if self.kind == "accept":
            lines.append("default_transport = discard")
        if self.milter:
            # The same parameters and values as the Postfix milter rows.
            lines += [f"smtpd_milters = inet:127.0.0.1:{self.milter}", "milter_default_action = tempfail", "milter_protocol = 6"]
        return lines + self.extra

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, "data"))
        with open(os.path.join(self.dir, "main.cf"), "w") as f:
            f.write("\n".join(self.main_cf()) + "\n")
        env = dict(os.environ)
        if self.perfmap:
            env["DOTNET_PerfMapEnabled"] = "1"
        self.p = self.procs.spawn(["taskset", "-c", SERVER_CORE, "dotnet", os.path.join(self.build, "mta.dll"), "serve", "-c",
                                   os.path.join(self.dir, "main.cf")], out=os.path.join(self.dir, "mta.log"), env=env)
        try:
            wait_greeting(self.port, 60, self.name)
        except RuntimeError:
            with open(os.path.join(self.dir, "mta.log"), errors="replace") as f:
                raise RuntimeError(f"{self.name} did not start:\n{f.read()[-3000:]}")

    def roots(self):
        return [self.p.pid]

    def queue_count(self):
        env = os.path.join(self.dir, "data", "queue", "envelope")
        n = 0
        for _, _, files in os.walk(env):
            n += len(files)
        return n

    def stop(self):
        if self.p:
            self.procs.stop(self.p, timeout=40)


POSTFIX_MODES = {
    "queue": ("postfix-queue", "Postfix: queue, then relay to the sink"),
    "accept": ("postfix-accept", "Postfix: accept only (default_transport = discard)"),
    "proxy": ("postfix-proxy", "Postfix: in-session relay (smtpd_proxy_filter = the sink, no queue file)"),
}

POSTFIX_MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:{port} inet n -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
"""


class Postfix(Server):
    """A private Postfix 3.7 (Debian's binaries): its own config, queue and data directories; see
    compat-tests/Mta.CompatTests/Peers/PostfixPeer.cs for what running it privately as root needs."""
    family = "postfix"

    def __init__(self, procs, root, sink, kind, milter=None, tls_cert=None, process_limit=150, suffix=""):
        self.procs, self.sink, self.kind, self.milter, self.tls_cert = procs, sink, kind, milter, tls_cert
        self.name, self.label = POSTFIX_MODES[kind]
        if milter:
            self.name += "+rspamd"
            self.label += ", rspamd milter"
        self.dir = os.path.join(root, self.name + suffix)
        self.port = free_port()
        self.process_limit = process_limit
        self.master = 0

    @property
    def conf(self):
        return os.path.join(self.dir, "conf")

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        for d in ("conf", "queue", "data"):
            os.makedirs(os.path.join(self.dir, d))
        os.chmod(self.dir, 0o755)
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        main = [
            "compatibility_level = 3.6",
            f"config_directory = {self.conf}",
            f"queue_directory = {self.dir}/queue",
            f"data_directory = {self.dir}/data",
            "meta_directory = /etc/postfix",
            "mail_owner = postfix",
            "setgid_group = postdrop",
            "myhostname = postfix.bench.test",
            "mydomain = bench.test",
            "mydestination =",
            "relay_domains =",
            "inet_interfaces = 127.0.0.1",
            "inet_protocols = ipv4",
            "mynetworks = 127.0.0.0/8",
            "smtpd_peername_lookup = no",
            "smtp_dns_support_level = disabled",
            "alias_maps =",
            "alias_database =",
            "biff = no",
            f"maillog_file = {self.dir}/postfix.log",
            f"maillog_file_prefixes = {self.dir}",
            "queue_run_delay = 1s",
            "minimal_backoff_time = 1s",
            "maximal_backoff_time = 2s",
            # 100 load sessions + the latency probe must all be served at once (Postfix's default is 100).
            f"default_process_limit = {self.process_limit}",
        ]
        if self.kind == "queue":
            main.append(f"relayhost = [127.0.0.1]:{self.sink.port}")
        elif self.kind == "accept":
            main.append("default_transport = discard")
        elif self.kind == "proxy":
            main.append(f"smtpd_proxy_filter = 127.0.0.1:{self.sink.port}")
            main.append(f"relayhost = [127.0.0.1]:{self.sink.port}")
        if self.milter:
            main += [f"smtpd_milters = inet:127.0.0.1:{self.milter}", "milter_default_action = tempfail", "milter_protocol = 6"]
        if self.tls_cert:
            main += ["smtpd_tls_security_level = may", f"smtpd_tls_cert_file = {self.tls_cert[0]}", f"smtpd_tls_key_file = {self.tls_cert[1]}"]
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write("\n".join(main) + "\n")
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(POSTFIX_MASTER_CF.format(port=self.port))
        self.procs.add_postfix(self.conf)
        run(["/usr/sbin/postfix", "-c", self.conf, "check"], timeout=30)
        # The master forks into the background; its children inherit the core-0 affinity.
        run(["taskset", "-c", SERVER_CORE, "/usr/sbin/postfix", "-c", self.conf, "start"], timeout=30)
        wait_greeting(self.port, 30, self.name)
        with open(os.path.join(self.dir, "queue", "pid", "master.pid")) as f:
            self.master = int(f.read().strip())

    def roots(self):
        return [self.master]

    def queue_count(self):
        n = 0
        for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.dir, "queue", sub)):
                n += len(files)
        return n

    def smtpd_pids(self):
        table = proc_table()
        return sorted(p for p in tree_pids([self.master], table) if table[p][2] == "smtpd")

    def stop(self):
        if not self.master:
            return
        run(["/usr/sbin/postfix", "-c", self.conf, "stop"], timeout=30, check=False)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and os.path.exists(f"/proc/{self.master}"):
            time.sleep(0.2)
        if os.path.exists(f"/proc/{self.master}"):
            run(["/usr/sbin/postfix", "-c", self.conf, "abort"], timeout=30, check=False)
            try:
                os.kill(self.master, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.master = 0


class Haraka(Server):
    """Haraka (npm package Haraka), one process (no cluster), queue/smtp_forward to the sink."""
    family, kind = "haraka", "proxy"
    name, label = "haraka", "Haraka: in-session relay (queue/smtp_forward to the sink, one process)"

    def __init__(self, procs, root, sink, haraka_dir):
        self.procs, self.sink, self.haraka_dir = procs, sink, haraka_dir
        self.dir = os.path.join(root, "haraka")
        self.port = free_port()
        self.p = None

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        cfg = os.path.join(self.dir, "config")
        # Haraka's own defaults (connection.ini ...), then ours over them.
        shutil.copytree(os.path.join(self.haraka_dir, "node_modules", "Haraka", "config"), cfg)
        os.makedirs(os.path.join(self.dir, "plugins"))
        with open(os.path.join(self.dir, "plugins", "bench_no_rdns.js"), "w") as f:
            # Like Postfix's smtpd_peername_lookup = no: no reverse DNS of 127.0.0.1 per connection
            # (Haraka would ask the system's DNS server, which is not on loopback).
            f.write("exports.hook_lookup_rdns = function (next) { next(OK, 'localhost') }\n")
        files = {
            "smtp.ini": f"listen=127.0.0.1:{self.port}\n",  # no nodes= : one process, no cluster
            "me": "haraka.bench.test\n",
            "plugins": "bench_no_rdns\nrcpt_to.in_host_list\nqueue/smtp_forward\n",
            "host_list": "bench.test\n",
            "smtp_forward.ini": f"host=127.0.0.1\nport={self.sink.port}\n",
            "log.ini": "[main]\nlevel=info\ntimestamps=false\nformat=default\n",
        }
        for name, text in files.items():
            with open(os.path.join(cfg, name), "w") as f:
                f.write(text)
        haraka = os.path.join(self.haraka_dir, "node_modules", "Haraka", "bin", "haraka")
        self.p = self.procs.spawn(["taskset", "-c", SERVER_CORE, "node", haraka, "-c", self.dir],
                                  out=os.path.join(self.dir, "haraka.log"))
        try:
            wait_greeting(self.port, 60, self.name)
        except RuntimeError:
            with open(os.path.join(self.dir, "haraka.log"), errors="replace") as f:
                raise RuntimeError(f"haraka did not start:\n{f.read()[-3000:]}")

    def roots(self):
        return [self.p.pid]

    def stop(self):
        if self.p:
            self.procs.stop(self.p)


class Rspamd:
    """A private rspamd (Debian's 3.4) with its proxy worker as milter on 127.0.0.1:11332, logs,
    database and pid under our run directory. Its DNS resolver points at a loopback port where
    nothing listens, and network modules are off, so it sends nothing beyond loopback."""

    MILTER_PORT = 11332

    def __init__(self, procs, root):
        self.procs = procs
        self.dir = os.path.join(root, "rspamd")
        self.p = None
        self._log_pos, self._scans, self._scanned_bytes = 0, 0, 0

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        local = os.path.join(self.dir, "local", "local.d")
        for d in (local, os.path.join(self.dir, "db"), os.path.join(self.dir, "run"), os.path.join(self.dir, "log")):
            os.makedirs(d)
        with open(os.path.join(local, "options.inc"), "w") as f:
            f.write('dns {\n  nameserver = ["127.0.0.1:1"];\n  timeout = 0.1s;\n  retransmits = 1;\n}\n')
        for module in ("fuzzy_check", "rbl", "surbl", "emails", "phishing", "asn", "url_redirector", "dkim", "dmarc", "spf",
                       "greylist", "ratelimit", "replies", "neural", "reputation", "history_redis", "dcc", "clickhouse"):
            with open(os.path.join(local, f"{module}.conf"), "w") as f:
                f.write("enabled = false;\n")
        for p in (os.path.join(self.dir, x) for x in ("db", "run", "log")):
            shutil.chown(p, "_rspamd", "_rspamd")
        for port in (11332, 11333, 11334):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    raise RuntimeError(f"rspamd: 127.0.0.1:{port} is already in use")
            except OSError:
                pass
        self.p = self.procs.spawn(["taskset", "-c", SERVER_CORE, "rspamd", "-f", "-u", "_rspamd", "-g", "_rspamd",
                                   "-c", "/etc/rspamd/rspamd.conf", f"--var=LOCAL_CONFDIR={self.dir}/local",
                                   f"--var=DBDIR={self.dir}/db", f"--var=RUNDIR={self.dir}/run", f"--var=LOGDIR={self.dir}/log"],
                                  out=os.path.join(self.dir, "rspamd.out"))
        wait_port(self.MILTER_PORT, 120, "rspamd milter")
        time.sleep(3)  # let the workers load hyperscan databases

    def roots(self):
        return [self.p.pid]

    @property
    def log_file(self):
        return os.path.join(self.dir, "log", "rspamd.log")

    def scans(self):
        """Scan tasks rspamd has logged so far: one `rspamd_task_write_log` line per message it scanned
        (the normal worker's task log; a milter conversation that never reaches end-of-message logs none)."""
        try:
            with open(self.log_file, "rb") as f:
                f.seek(self._log_pos)
                data = f.read()
        except OSError:
            return self._scans
        end = data.rfind(b"\n") + 1  # count whole lines only; a partial one is read again next time
        for line in data[:end].split(b"\n"):
            if b"rspamd_task_write_log" in line:
                self._scans += 1
                m = re.search(rb", len: (\d+),", line)
                self._scanned_bytes += int(m.group(1)) if m else 0
        self._log_pos += end
        return self._scans

    def scanned_bytes(self):
        """Sum of the `len:` (message size rspamd scanned) of the scans counted so far."""
        return self._scanned_bytes

    def scans_settled(self, expected, timeout=10):
        """scans() once it reaches `expected` or stops growing (rspamd writes its log asynchronously)."""
        deadline = time.monotonic() + timeout
        last, since = self.scans(), time.monotonic()
        while time.monotonic() < deadline and last < expected:
            time.sleep(0.2)
            n = self.scans()
            if n != last:
                last, since = n, time.monotonic()
            elif time.monotonic() - since > 2:
                break
        return last

    def stop(self):
        if self.p:
            self.procs.stop(self.p, timeout=20)


# ---------------------------------------------------------------------------------------------
# load runs

def smtp_source(port, sessions, msgs, size, rcpts, reuse, timeout):
    argv = ["taskset", "-c", HARNESS_CORE, "/usr/sbin/smtp-source", "-s", str(sessions), "-m", str(msgs), "-l", str(size),
            "-f", FROM, "-t", TO, "-M", "source.bench.test"]
    if rcpts > 1:
        argv += ["-r", str(rcpts)]
    if reuse:
        argv.append("-d")
    argv.append(f"127.0.0.1:{port}")
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        rc, err = r.returncode, (r.stdout + r.stderr).strip()
    except subprocess.TimeoutExpired as e:
        rc, err = -1, f"timed out after {timeout}s " + (e.stderr or b"").decode(errors="replace")[-500:]
    return time.monotonic() - t0, rc, err, argv


def wait_drained(server, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.queue_count() == 0:
            return True
        time.sleep(0.05)
    return False


class Config:
    def __init__(self, sessions, reuse, size, rcpts):
        self.sessions, self.reuse, self.size, self.rcpts = sessions, reuse, size, rcpts

    @property
    def key(self):
        return f"s{self.sessions}{'-d' if self.reuse else ''}-{self.size // 1024}k-r{self.rcpts}"

    def describe(self):
        return f"{self.sessions} sess, {'-d' if self.reuse else 'no -d'}, {self.size // 1024} KiB, {self.rcpts} rcpt"


def measure(server, cfg, seconds, run_dir, probe=True, parts=None):
    """One measured load: calibrate (also warms up), then a run sized to `seconds`, with the latency
    probe beside it. For queueing modes the window (and CPU) runs until the queue is empty. `parts`
    (name -> roots function) also reports the CPU of parts of the tree under test (e.g. rspamd)."""
    parts = parts or {}
    row = {"server": server.name, "family": server.family, "kind": server.kind, "label": server.label, "config": cfg.key,
           "sessions": cfg.sessions, "reuse": cfg.reuse, "size": cfg.size, "rcpts": cfg.rcpts}
    m0 = max(200, cfg.sessions * 10)
    el, rc, err, _ = smtp_source(server.port, cfg.sessions, m0, cfg.size, cfg.rcpts, cfg.reuse, timeout=120)
    wait_drained(server, 120)
    if rc != 0 or el <= 0:
        row["error"] = f"calibration failed (rc={rc}): {err[:300]}"
        return row
    rate0 = m0 / el
    row["calibration_messages"] = m0
    msgs = int(min(max(rate0 * seconds, cfg.sessions * 5, 200), 1_000_000))
    probe_out = os.path.join(run_dir, f"probe-{server.name}-{cfg.key}.json")
    pp = None
    if probe:
        pp = subprocess.Popen(["taskset", "-c", HARNESS_CORE, "nice", "-n", "-5", sys.executable, os.path.join(HERE, "latency_probe.py"),
                               "--port", str(server.port), "--out", probe_out, "--interval", "0.01", "--body", str(cfg.size),
                               "--max-seconds", str(seconds * 10 + 120)], start_new_session=True)
        time.sleep(0.3)
    roots = server.roots()
    cpu0 = tree_cpu_seconds(roots) if roots else 0
    part_cpu0 = {name: tree_cpu_seconds(f()) for name, f in parts.items()}
    t0 = time.monotonic()
    el, rc, err, argv = smtp_source(server.port, cfg.sessions, msgs, cfg.size, cfg.rcpts, cfg.reuse, timeout=max(120, seconds * 20))
    drained = wait_drained(server, 300)
    window = time.monotonic() - t0
    if pp:
        os.killpg(pp.pid, signal.SIGTERM)
        try:
            pp.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(pp.pid, signal.SIGKILL)
            pp.wait(10)
    cpu1 = tree_cpu_seconds(roots) if roots else 0
    part_cpu1 = {name: tree_cpu_seconds(f()) for name, f in parts.items()}
    row["command"] = " ".join(argv[3:])
    row["messages"] = msgs
    row["elapsed"] = el
    row["msgs_per_s"] = msgs / el if el > 0 else 0
    if rc != 0:
        row["error"] = f"smtp-source rc={rc}: {err[:300]}"
    elif err:
        row["warning"] = err[:300]
    probe_msgs = 0
    if probe and os.path.exists(probe_out):
        with open(probe_out) as f:
            pr = json.load(f)
        lat = sorted(pr["latencies_us"])
        probe_msgs = len(lat)
        if lat:
            row["p50_ms"] = lat[len(lat) // 2] / 1000
            row["p99_ms"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1000
            row["probe_n"] = len(lat)
        if pr.get("error_count"):
            row["probe_errors"] = pr["error_count"]
            row["probe_error_sample"] = pr["errors"][:2]
    if server.kind in ("queue", "accept"):
        row["drain_s"] = window
        row["drained"] = drained
        row["relayed_per_s"] = msgs / window if window > 0 else 0
    if roots:
        row["cpu_s"] = cpu1 - cpu0
        row["cpu_ms_per_msg"] = (cpu1 - cpu0) * 1000 / (msgs + probe_msgs) if msgs else None
        if parts and msgs:
            row["cpu_ms_per_msg_parts"] = {name: (part_cpu1[name] - part_cpu0[name]) * 1000 / (msgs + probe_msgs) for name in parts}
    return row


# ---------------------------------------------------------------------------------------------
# idle sessions

def idle_client(procs, port, count, tls, hold, out):
    p = procs.spawn(["taskset", "-c", HARNESS_CORE, sys.executable, os.path.join(HERE, "idle_sessions.py"), "--port", str(port),
                     "--count", str(count), "--hold", str(hold)] + (["--tls"] if tls else []),
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, out=out)
    deadline = time.monotonic() + hold
    line = ""
    while time.monotonic() < deadline:
        line = p.stdout.readline().decode(errors="replace").strip()
        if line.startswith("READY") or not line and p.poll() is not None:
            break
    with open(out, "a") as f:
        f.write(line + "\n")
    ok = int(line.split("ok=")[1].split()[0]) if "ok=" in line else 0
    failed = int(line.split("failed=")[1].split()[0]) if "failed=" in line else count
    return p, ok, failed


def idle_mta(procs, root, build, sink, count, tls, hold):
    mta = Mta(procs, root, build, sink, "prequeue", extra=("idle-tls" if tls else "idle", []))
    mta.start()
    try:
        # a few real messages first, so the baseline has the session code paths loaded and JIT-compiled
        smtp_source(mta.port, 2, 200, 4096, 1, True, 60)
        if tls:
            p, ok, failed = idle_client(procs, mta.port, 20, True, 60, os.path.join(root, "idle.log"))
            procs.stop(p)
        time.sleep(2)
        base = status_kib(mta.p.pid, "VmRSS")
        p, ok, failed = idle_client(procs, mta.port, count, tls, hold, os.path.join(root, "idle.log"))
        time.sleep(3)
        rss = status_kib(mta.p.pid, "VmRSS")
        hwm = status_kib(mta.p.pid, "VmHWM")
        procs.stop(p)
        return {"server": "mta", "tls": tls, "sessions": ok, "failed": failed, "base_kib": base, "rss_kib": rss, "hwm_kib": hwm,
                "per_session_kib": (rss - base) / ok if ok else None}
    finally:
        mta.stop()


def idle_postfix(procs, root, sink, count, tls, cert):
    pf = Postfix(procs, root, sink, "queue", tls_cert=cert, process_limit=count + 20, suffix="-idle-tls" if tls else "-idle")
    pf.start()
    try:
        p, ok, failed = idle_client(procs, pf.port, count, tls, 120, os.path.join(root, "idle.log"))
        time.sleep(2)
        pids = pf.smtpd_pids()
        rss = [status_kib(x, "VmRSS") for x in pids]
        roll = [smaps_rollup_kib(x) for x in pids]
        private = [r.get("Private_Clean", 0) + r.get("Private_Dirty", 0) for r in roll]
        pss = [r.get("Pss", 0) for r in roll]
        procs.stop(p)
        return {"server": "postfix", "tls": tls, "sessions": ok, "failed": failed, "smtpd_processes": len(pids),
                "rss_kib": statistics.mean(rss) if rss else None, "private_kib": statistics.mean(private) if private else None,
                "pss_kib": statistics.mean(pss) if pss else None,
                "default_process_limit": run(["postconf", "-d", "-h", "default_process_limit"]).stdout.strip()}
    finally:
        pf.stop()


# ---------------------------------------------------------------------------------------------
# microbenchmarks

def microbenchmarks(procs, root, quick):
    out = os.path.join(root, "micro")
    shutil.rmtree(out, ignore_errors=True)
    dll = os.path.join(RUNROOT, "micro", "Microbenchmarks.dll")
    argv = ["taskset", "-c", SERVER_CORE, "dotnet", dll] + (["--quick"] if quick else []) + ["--filter", "*", "--artifacts", out]
    p = procs.spawn(argv, out=os.path.join(root, "micro.log"))
    try:
        p.wait(1500)
    except subprocess.TimeoutExpired:
        procs.stop(p)
        return None, "timed out"
    procs.stop(p)
    res = os.path.join(out, "results")
    files = [f for f in os.listdir(res) if f.endswith("-report-github.md")] if os.path.isdir(res) else []
    if not files:
        return None, f"no report (exit {p.returncode}); see {os.path.join(root, 'micro.log')}"
    with open(os.path.join(res, files[0])) as f:
        return f.read(), " ".join(argv[5:])


# ---------------------------------------------------------------------------------------------
# RESULTS.md

MATCH = {"prequeue": "proxy", "proxy": "proxy", "queue": "queue", "accept": "accept"}


def fmt(v, nd=0):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return str(v)


def write_results(path, meta, rows, idle, micro, milter_rows, analysis):
    by = {(r["server"], r["config"]): r for r in rows}
    postfix_for = {"proxy": "postfix-proxy", "queue": "postfix-queue", "accept": "postfix-accept"}
    L = []
    L.append("# Benchmark results")
    L.append("")
    L.append("Generated by `bench/run` (issue 6). **These numbers are from one small, shared machine on one date;**")
    L.append("they compare the peers with each other in the same run, not with any other machine.")
    L.append("")
    L.append(f"- Command: `{meta['command']}`")
    L.append(f"- Date: {meta['date']}")
    L.append(f"- Machine: {meta['machine']}; load average before the run: {meta['load_before']} (after: {meta['load_after']})")
    L.append("- The machine is shared with other agents' builds, so absolute figures vary from run to run; ratios from the same run are the figures to read.")
    L.append(f"- Peers: {meta['versions']}")
    L.append("- Set-up: loopback only. The server under test (every process of its tree) on core 0 (`taskset -c 0`); smtp-source, smtp-sink, the latency probe and the idle-session client on core 1. "
             "Driver: Postfix's `smtp-source` (body size `-l`, recipients `-r`, `-d` = several messages per connection); downstream: Postfix's `smtp-sink`. "
             "Each server first gets a warm-up (10 sessions, -d, not measured); each row is a calibration run, then a run sized to the measured duration; queueing modes are timed until their queue is empty.")
    L.append("- Logging on in every server (our MTA's stdout to a file, Postfix through postlogd to maillog_file, Haraka at level info to a file).")
    L.append("")
    L.append("## Throughput, CPU and end-of-data latency")
    L.append("")
    L.append("msg/s: messages accepted per second as smtp-source saw them. **ratio**: to Postfix's matching mode in the same configuration "
             "(pre-queue relay and Haraka vs Postfix's in-session relay `smtpd_proxy_filter`; queue vs queue; accept vs accept). "
             "relayed/s (queueing modes): messages / time until the queue was empty. CPU ms/msg: user+system CPU of the whole process tree under test "
             "(live processes plus reaped children, from /proc/PID/stat) over the window, per message (load + probe). p50/p99: our latency probe "
             "(one extra session beside the load, 10 ms between messages, same body size) from sending the final `.` to the complete end-of-data reply.")
    L.append("")
    L.append("| mode | sessions | -d | body | rcpt | msg/s | ratio | relayed/s | CPU ms/msg | p50 ms | p99 ms | notes |")
    L.append("|---|---:|:-:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        ratio = None
        ref_name = None
        if r["family"] in ("mta", "haraka"):
            ref_name = postfix_for.get(MATCH.get(r["kind"], ""), None)
        if ref_name:
            ref = by.get((ref_name, r["config"]))
            if ref and ref.get("msgs_per_s") and r.get("msgs_per_s"):
                ratio = r["msgs_per_s"] / ref["msgs_per_s"]
        ceiling = by.get(("ceiling", r["config"]))
        notes = []
        if r.get("error"):
            notes.append("ERROR: " + r["error"].replace("|", "/").replace("\n", " ")[:160])
        if r.get("warning"):
            notes.append("smtp-source: " + r["warning"].replace("|", "/").replace("\n", " ")[:120])
        if r.get("probe_errors"):
            notes.append(f"probe errors: {r['probe_errors']}")
        if r.get("drained") is False:
            notes.append("queue not empty after 300 s")
        if r["family"] == "mta" and r["kind"] == "prequeue" and ceiling and ceiling.get("msgs_per_s") and r.get("msgs_per_s"):
            notes.append(f"{r['msgs_per_s'] / ceiling['msgs_per_s']:.2f}x ceiling")
        L.append(f"| {r['server']} | {r['sessions']} | {'yes' if r['reuse'] else 'no'} | {r['size'] // 1024} KiB | {r['rcpts']} | "
                 f"{fmt(r.get('msgs_per_s'))} | {fmt(ratio, 2) + 'x' if ratio else '—'} | {fmt(r.get('relayed_per_s'))} | "
                 f"{fmt(r.get('cpu_ms_per_msg'), 3)} | {fmt(r.get('p50_ms'), 2)} | {fmt(r.get('p99_ms'), 2)} | {'; '.join(notes)} |")
    L.append("")
    L.append("Modes: " + "; ".join(f"`{k}` = {v}" for k, v in meta["modes"].items()) + ".")
    L.append("")
    L.append("## With rspamd as milter")
    L.append("")
    L.append("rspamd 3.4 (Debian), its proxy worker in milter mode, one private instance for every row, on core 0 (its CPU is counted in the tree under test); "
             "its DNS resolver points at a loopback port where nothing listens and its network modules are off, so it scans locally only. "
             "Every server has `smtpd_milters = inet:127.0.0.1:11332`, `milter_default_action = tempfail`, `milter_protocol = 6`, and gets the same warm-up "
             "as the load rows first. **ratio**: msg/s to Postfix's matching mode with the same milter (pre-queue relay vs in-session relay "
             "`smtpd_proxy_filter`; queue vs queue). CPU ms/msg: the server's tree and rspamd's over the measured window, per message; "
             "**of which rspamd**: rspamd's tree alone. **rspamd scans**: scan tasks in rspamd's log (`rspamd_task_write_log` lines) during the row, "
             "against the messages the row sent (calibration, measured run and probe).")
    L.append("")
    L.append("| mode | sessions | -d | body | rcpt | msg/s | ratio | relayed/s | CPU ms/msg (server + rspamd) | of which rspamd | p50 ms | p99 ms | rspamd scans | notes |")
    L.append("|---|---:|:-:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    milter_by = {r["server"]: r for r in milter_rows}
    milter_ref = {"mta-prequeue+rspamd": "postfix-proxy+rspamd", "mta-queue+rspamd": "postfix-queue+rspamd"}
    for r in milter_rows:
        if r.get("not_available"):  # results.json of runs before our MTA had milters
            L.append(f"| {r['server']} | {r['sessions']} | {'yes' if r['reuse'] else 'no'} | {r['size'] // 1024} KiB | {r['rcpts']} | "
                     f"not available yet | — | — | — | — | — | — | — | {r['not_available']} |")
            continue
        ratio = None
        ref = milter_by.get(milter_ref.get(r["server"], ""))
        if ref and ref.get("msgs_per_s") and r.get("msgs_per_s") and not ref.get("error") and not r.get("error"):
            ratio = r["msgs_per_s"] / ref["msgs_per_s"]
        scans, sent = r.get("rspamd_scans"), r.get("rspamd_messages")
        notes = []
        if r.get("error"):
            notes.append("ERROR: " + r["error"].replace("|", "/").replace("\n", " ")[:160])
        if r.get("warning"):
            notes.append("smtp-source: " + r["warning"].replace("|", "/").replace("\n", " ")[:120])
        if r.get("probe_errors"):
            notes.append(f"probe errors: {r['probe_errors']}")
        if r.get("drained") is False:
            notes.append("queue not empty after 300 s")
        if not r.get("error") and r.get("kind") == "proxy":
            # Postfix's smtpd hands message content to milters through cleanup(8), which
            # smtpd_proxy_filter bypasses before the reply: rspamd sees the envelope stages only.
            notes.append("rspamd gets the envelope stages only: with smtpd_proxy_filter, Postfix passes no message content to "
                         "milters (content goes through cleanup(8), after the proxy), so rspamd logs no scan for these messages")
        elif not r.get("error") and scans is not None and sent:
            size = f", {r['rspamd_scanned_bytes'] / scans:,.0f} bytes each (`len:` in its log)" if scans and r.get("rspamd_scanned_bytes") else ""
            if scans >= sent:
                notes.append(f"rspamd scanned every message{size}: header and body reached it through the milter")
            else:
                notes.append(f"rspamd logged scans for {scans / sent * 100:.0f}% of the messages only{size}")
        if not r.get("error") and r["server"] == "mta-prequeue+rspamd":
            other = milter_by.get("postfix-queue+rspamd")
            if other and other.get("msgs_per_s") and r.get("msgs_per_s") and not other.get("error"):
                notes.append(f"{r['msgs_per_s'] / other['msgs_per_s']:.2f}x postfix-queue+rspamd, the Postfix row whose messages rspamd does scan")
        L.append(f"| {r['server']} | {r['sessions']} | {'yes' if r['reuse'] else 'no'} | {r['size'] // 1024} KiB | {r['rcpts']} | "
                 f"{fmt(r.get('msgs_per_s'))} | {fmt(ratio, 2) + 'x' if ratio else '—'} | {fmt(r.get('relayed_per_s'))} | "
                 f"{fmt(r.get('cpu_ms_per_msg'), 3)} | {fmt(r.get('cpu_ms_per_msg_parts', {}).get('rspamd'), 3)} | "
                 f"{fmt(r.get('p50_ms'), 2)} | {fmt(r.get('p99_ms'), 2)} | "
                 f"{f'{scans:,} of {sent:,}' if scans is not None and sent else '—'} | {'; '.join(notes)} |")
    L.append("")
    L.append("## Resident memory per idle session")
    L.append("")
    L.append("Idle sessions: `bench/harness/idle_sessions.py` opens the sessions (greeting, EHLO; with TLS also STARTTLS, the handshake and EHLO again) "
             "and holds them. Our MTA: (VmRSS with the sessions held - VmRSS before) / sessions, one process, after a short warm-up; "
             "no GC is forced, so garbage not yet collected counts too. Postfix: one smtpd process per session; its figure is the mean per-process "
             "memory of the smtpd processes serving the idle sessions (RSS, and the private part that each further process really adds), and the "
             "process limit decides how many sessions it serves at once.")
    L.append("")
    L.append("| server | TLS | sessions held | failed | per idle session | total | notes |")
    L.append("|---|:-:|---:|---:|---:|---:|---|")
    for r in idle:
        if r["server"] == "mta":
            L.append(f"| our MTA | {'yes' if r['tls'] else 'no'} | {r['sessions']:,} | {r['failed']} | {fmt(r.get('per_session_kib'), 1)} KiB | "
                     f"VmRSS {r['rss_kib'] / 1024:,.0f} MiB (base {r['base_kib'] / 1024:,.0f} MiB, peak {r['hwm_kib'] / 1024:,.0f} MiB) | |")
        else:
            total = r["private_kib"] * 10000 / 1024 / 1024 if r.get("private_kib") else None
            L.append(f"| Postfix smtpd | {'yes' if r['tls'] else 'no'} | {r['sessions']:,} | {r['failed']} | "
                     f"{fmt(r.get('private_kib'), 0)} KiB private ({fmt(r.get('rss_kib'), 0)} KiB RSS, {fmt(r.get('pss_kib'), 0)} KiB PSS) per process | "
                     f"10,000 sessions = 10,000 smtpd processes ≈ {fmt(total, 1)} GiB private | measured with {r['smtpd_processes']} smtpd processes; "
                     f"default_process_limit is {r['default_process_limit']}, so by default Postfix serves {r['default_process_limit']} sessions at once and further clients wait |")
    L.append("")
    L.append("## Microbenchmarks (BenchmarkDotNet)")
    L.append("")
    if micro[0]:
        L.append(f"`bench/Microbenchmarks` (`dotnet Microbenchmarks.dll {micro[1]}`), on core 0, one group per benchmark class: "
                 "the SMTP command parser (`SmtpCommandParser.Parse`), the DATA reader (`DotDataDecoder`), the milter codec "
                 "(encoding a header, a 4 KiB body chunk and every packet of one message; framing and decoding the replies to one message "
                 "and a custom reply text) and DKIM signing (`DkimSigner.Sign` of a 4 KiB message with RSA-2048, Ed25519, and both; "
                 "each includes MimeKit's parse and the body-hash check). Ratio: to the baseline of its group.")
        L.append("")
        L.append(micro[0].strip())
    else:
        L.append(f"Not run ({micro[1]}).")
    L.append("")
    L.append("## Targets")
    L.append("")
    for line in meta["targets"]:
        L.append(line)
    L.append("")
    if analysis:
        L.append(analysis.strip())
        L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


def evaluate_targets(rows, idle):
    by = {(r["server"], r["config"]): r for r in rows}
    out = []

    def rate(server, cfg):
        r = by.get((server, cfg))
        return r.get("msgs_per_s") if r and not r.get("error") else None

    def verdict(name, value, target, better="higher", unit="", ratio_text=None):
        if value is None:
            out.append(f"- {name}: not measured in this run")
            return
        met = value >= target if better == "higher" else value <= target
        if met:
            out.append(f"- {name}: **met** ({ratio_text or fmt(value, 2) + unit} vs target {'≥' if better == 'higher' else '≤'} {fmt(target, 2)}{unit})")
        else:
            if better == "higher":
                miss = f"reaches {value / target * 100:.0f}% of the target ({target / value:.2f}x short)" if value > 0 else "zero"
            else:
                miss = f"{value / target:.2f}x over the target"
            out.append(f"- {name}: **missed** ({ratio_text or fmt(value, 2) + unit} vs target {'≥' if better == 'higher' else '≤'} {fmt(target, 2)}{unit}; {miss})")

    c10 = "s10-d-4k-r1"
    pre, pfx, har, ceil = rate("mta-prequeue", c10), rate("postfix-proxy", c10), rate("haraka", c10), rate("ceiling", c10)
    verdict("Pre-queue relay ≥ 3x Postfix's in-session relay, 10 sessions, -d", pre / pfx if pre and pfx else None, 3.0, unit="x")
    verdict("Pre-queue relay ≥ 3x Haraka, 10 sessions, -d", pre / har if pre and har else None, 3.0, unit="x")
    verdict("Pre-queue relay ≥ 0.5x the harness ceiling, 10 sessions, -d", pre / ceil if pre and ceil else None, 0.5, unit="x")
    q, pq = rate("mta-queue", c10), rate("postfix-queue", c10)
    verdict("Durable local queue ≥ 2x Postfix's queue mode, 10 sessions, -d (accepted msg/s)", q / pq if q and pq else None, 2.0, unit="x")
    r = by.get(("mta-prequeue", c10))
    verdict("CPU per message in pre-queue relay (no DKIM) ≤ 0.5 ms, 10 sessions, -d", r.get("cpu_ms_per_msg") if r else None, 0.5, better="lower", unit=" ms")
    r = by.get(("mta-prequeue", "s100-d-4k-r1"))
    verdict("p99 end-of-data latency in pre-queue relay at 100 sessions (-d) < 10 ms", r.get("p99_ms") if r else None, 10.0, better="lower", unit=" ms")
    for tls, limit in ((False, 16.0), (True, 48.0)):
        m = next((x for x in idle if x["server"] == "mta" and x["tls"] == tls), None)
        name = f"10,000 idle sessions at ≤ {limit:.0f} KiB resident each ({'after STARTTLS' if tls else 'plaintext'})"
        if m and m["sessions"] < 10000:
            out.append(f"- {name}: **missed** (only {m['sessions']:,} of 10,000 sessions held; {m['failed']} failed)")
        else:
            verdict(name, m.get("per_session_kib") if m else None, limit, better="lower", unit=" KiB")
    return out


# ---------------------------------------------------------------------------------------------

def render(run_dir, results):
    with open(os.path.join(run_dir, "results.json")) as f:
        d = json.load(f)
    meta = d["meta"]
    meta["targets"] = evaluate_targets(d["rows"], d["idle"])
    micro = (None, "skipped")
    res = os.path.join(run_dir, "micro", "results")
    files = [x for x in os.listdir(res) if x.endswith("-report-github.md")] if os.path.isdir(res) else []
    if files:
        with open(os.path.join(res, files[0])) as f:
            quick = "--quick " if "--quick" in meta["command"] else ""
            micro = (f.read(), f"{quick}--filter * --artifacts {os.path.join(run_dir, 'micro')}")
    analysis = ""
    apath = os.path.join(BENCH, "ANALYSIS.md")
    if os.path.exists(apath):
        with open(apath) as f:
            analysis = f.read()
    write_results(results, meta, d["rows"], d["idle"], micro, d["milter"], analysis)
    log(f"wrote {results} from {run_dir}")


def main():
    ap = argparse.ArgumentParser(description="bench/run: our MTA vs Postfix vs Haraka on loopback")
    ap.add_argument("--quick", action="store_true", help="headline rows only (10 and 100 sessions with -d, 10 without; 4 KiB; one recipient)")
    ap.add_argument("--seconds", type=float, help="length of each measured run (default 4 quick, 10 full)")
    ap.add_argument("--only", help="comma-separated servers: ceiling,mta-prequeue,mta-queue,mta-accept,postfix-queue,postfix-accept,postfix-proxy,haraka; "
                    "milter rows by their name (mta-prequeue+rspamd, postfix-proxy+rspamd, mta-queue+rspamd, postfix-queue+rspamd) "
                    "or their mode's (mta-prequeue also runs mta-prequeue+rspamd)")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: load,milter,idle,micro")
    ap.add_argument("--idle-sessions", type=int, default=10000)
    ap.add_argument("--warmup", type=int, help="messages sent (10 sessions, -d) to each server before its rows (default 2000 quick, 10000 full)")
    ap.add_argument("--results", default=os.path.join(BENCH, "RESULTS.md"))
    ap.add_argument("--command", default="bench/run")
    ap.add_argument("--perfmap", action="store_true", help="start our MTA with DOTNET_PerfMapEnabled=1 (for perf record)")
    ap.add_argument("--render", metavar="RUN_DIR", help="measure nothing: rewrite --results from RUN_DIR/results.json (e.g. after editing ANALYSIS.md)")
    a = ap.parse_args()
    if a.render:
        render(a.render, a.results)
        return

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    root = os.path.join(RUNROOT, "runs", stamp)
    os.makedirs(root)
    os.chmod(root, 0o755)
    os.chmod(os.path.dirname(root), 0o755)
    os.chmod(RUNROOT, 0o755)
    procs = Procs(RUNROOT)
    skip = set(x for x in a.skip.split(",") if x)
    seconds = a.seconds or (4 if a.quick else 10)
    a.warmup = a.warmup or (2000 if a.quick else 10000)
    build = os.path.join(RUNROOT, "mta")
    haraka_dir = os.path.join(RUNROOT, "haraka")

    if a.quick:
        configs = [Config(10, True, 4096, 1), Config(100, True, 4096, 1), Config(10, False, 4096, 1)]
    else:
        configs = []
        for size, rcpts in ((4096, 1), (4096, 10), (51200, 1)):
            for reuse in (True, False):
                for sessions in (1, 10, 100):
                    configs.append(Config(sessions, reuse, size, rcpts))

    def versions():
        v = []
        v.append("Postfix " + run(["postconf", "-d", "-h", "mail_version"]).stdout.strip())
        try:
            with open(os.path.join(haraka_dir, "node_modules", "Haraka", "package.json")) as f:
                v.append("Haraka " + json.load(f)["version"] + " on Node " + run(["node", "--version"]).stdout.strip())
        except OSError:
            pass
        v.append("rspamd " + run(["dpkg-query", "-W", "-f=${Version}", "rspamd"], check=False).stdout.strip())
        v.append(".NET " + run(["dotnet", "--version"]).stdout.strip())
        v.append("our MTA at commit " + run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]).stdout.strip())
        return ", ".join(v)

    cpu_model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    meta = {
        "command": a.command,
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": f"{os.cpu_count()} cores ({cpu_model}), {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, {platform.platform()}",
        "load_before": loadavg(),
        "versions": versions(),
        "modes": {"ceiling": "smtp-source straight into smtp-sink",
                  **{v[0]: v[1] for v in MTA_MODES.values()}, **{v[0]: v[1] for v in POSTFIX_MODES.values()},
                  "haraka": Haraka.label},
    }
    log(f"run directory {root}; load average {meta['load_before']}")
    rows, idle, milter_rows = [], [], []
    micro = (None, "skipped")
    sink = Sink(procs, root)
    try:
        sink.start()
        servers = [
            lambda: Ceiling(sink),
            lambda: Mta(procs, root, build, sink, "prequeue", perfmap=a.perfmap),
            lambda: Postfix(procs, root, sink, "proxy"),
            lambda: Haraka(procs, root, sink, haraka_dir),
            lambda: Mta(procs, root, build, sink, "queue"),
            lambda: Postfix(procs, root, sink, "queue"),
            lambda: Mta(procs, root, build, sink, "accept"),
            lambda: Postfix(procs, root, sink, "accept"),
        ]
        only = set(a.only.split(",")) if a.only else None
        if "load" not in skip:
            for make in servers:
                server = make()
                if only and server.name not in only:
                    continue
                log(f"== {server.label}")
                try:
                    server.start()
                    # Warm-up before any row: JIT tiering in our MTA, Node's JIT in Haraka, process
                    # pools in Postfix. Not measured.
                    smtp_source(server.port, 10, a.warmup, 4096, 1, True, timeout=300)
                    wait_drained(server, 300)
                    for cfg in configs:
                        row = measure(server, cfg, seconds, root)
                        rows.append(row)
                        log(f"   {cfg.describe()}: {fmt(row.get('msgs_per_s'))} msg/s, cpu {fmt(row.get('cpu_ms_per_msg'), 3)} ms/msg, "
                            f"p50 {fmt(row.get('p50_ms'), 2)} p99 {fmt(row.get('p99_ms'), 2)} ms {row.get('error', '')}")
                except Exception as e:  # noqa: BLE001 - one peer failing must not lose the others' rows
                    log(f"   FAILED: {e}")
                    rows.append({"server": server.name, "family": server.family, "kind": server.kind, "config": "-", "sessions": 0,
                                 "reuse": False, "size": 0, "rcpts": 0, "error": str(e)[:300]})
                finally:
                    server.stop()
        if "milter" not in skip:
            # One private rspamd for every row; the matching modes side by side: our pre-queue relay and
            # Postfix's in-session relay, then the two queue modes. --only picks rows by their name or by
            # the name of the mode they add the milter to (--only mta-prequeue also runs mta-prequeue+rspamd).
            cfg = Config(10, True, 4096, 1)
            milter_servers = [
                lambda: Mta(procs, root, build, sink, "prequeue", milter=Rspamd.MILTER_PORT),
                lambda: Postfix(procs, root, sink, "proxy", milter=Rspamd.MILTER_PORT),
                lambda: Mta(procs, root, build, sink, "queue", milter=Rspamd.MILTER_PORT),
                lambda: Postfix(procs, root, sink, "queue", milter=Rspamd.MILTER_PORT),
            ]
            chosen = [m for m in (make() for make in milter_servers)
                      if not only or m.name in only or m.name.split("+")[0] in only]
            rs = Rspamd(procs, root)
            try:
                if chosen:
                    log("== rspamd")
                    rs.start()
                for server in chosen:
                    try:
                        log(f"== {server.label}")
                        server.start()
                        server_roots = server.roots
                        server.roots = lambda server_roots=server_roots: server_roots() + rs.roots()
                        # The same warm-up as the load rows (JIT, process pools, and rspamd's own).
                        smtp_source(server.port, 10, a.warmup, 4096, 1, True, timeout=300)
                        wait_drained(server, 300)
                        scans0 = rs.scans_settled(10**12, timeout=3)
                        bytes0 = rs.scanned_bytes()
                        row = measure(server, cfg, seconds, root, parts={"rspamd": rs.roots})
                        sent = row.get("calibration_messages", 0) + row.get("messages", 0) + row.get("probe_n", 0)
                        row["rspamd_messages"] = sent
                        row["rspamd_scans"] = rs.scans_settled(scans0 + sent) - scans0
                        row["rspamd_scanned_bytes"] = rs.scanned_bytes() - bytes0
                        milter_rows.append(row)
                        log(f"   {cfg.describe()}: {fmt(row.get('msgs_per_s'))} msg/s, cpu {fmt(row.get('cpu_ms_per_msg'), 3)} ms/msg "
                            f"(rspamd {fmt(row.get('cpu_ms_per_msg_parts', {}).get('rspamd'), 3)}), "
                            f"p50 {fmt(row.get('p50_ms'), 2)} p99 {fmt(row.get('p99_ms'), 2)} ms, "
                            f"rspamd scans {row['rspamd_scans']} for {sent} messages {row.get('error', '')}")
                    except Exception as e:  # noqa: BLE001 - one peer failing must not lose the others' rows
                        log(f"   FAILED: {e}")
                        milter_rows.append({"server": server.name, "family": server.family, "kind": server.kind, "sessions": 10, "reuse": True,
                                            "size": 4096, "rcpts": 1, "error": str(e)[:300]})
                    finally:
                        server.stop()
            except Exception as e:  # noqa: BLE001
                log(f"   rspamd FAILED: {e}")
                milter_rows.append({"server": "rspamd", "sessions": 10, "reuse": True, "size": 4096, "rcpts": 1, "error": str(e)[:300]})
            finally:
                rs.stop()
        if "idle" not in skip:
            cert = (os.path.join(root, "tls.crt"), os.path.join(root, "tls.key"))
            run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=postfix.bench.test",
                 "-keyout", cert[1], "-out", cert[0]], timeout=60)
            for tls in (False, True):
                log(f"== idle sessions, our MTA, {'STARTTLS' if tls else 'plaintext'}: {a.idle_sessions}")
                try:
                    idle.append(idle_mta(procs, root, build, sink, a.idle_sessions, tls, 600))
                    log(f"   {idle[-1]}")
                except Exception as e:  # noqa: BLE001
                    log(f"   FAILED: {e}")
            for tls in (False, True):
                log(f"== idle sessions, Postfix, {'STARTTLS' if tls else 'plaintext'}: 50 (per-process figure)")
                try:
                    idle.append(idle_postfix(procs, root, sink, 50, tls, cert))
                    log(f"   {idle[-1]}")
                except Exception as e:  # noqa: BLE001
                    log(f"   FAILED: {e}")
        if "micro" not in skip:
            log("== microbenchmarks")
            micro = microbenchmarks(procs, root, a.quick)
    finally:
        sink.stop()
        procs.stop_all()
        meta["load_after"] = loadavg()
        with open(os.path.join(root, "results.json"), "w") as f:
            json.dump({"meta": meta, "rows": rows, "idle": idle, "milter": milter_rows}, f, indent=1)
    meta["targets"] = evaluate_targets(rows, idle)
    analysis = ""
    apath = os.path.join(BENCH, "ANALYSIS.md")
    if os.path.exists(apath):
        with open(apath) as f:
            analysis = f.read()
    write_results(a.results, meta, rows, idle, micro, milter_rows, analysis)
    log(f"wrote {a.results} (raw figures: {os.path.join(root, 'results.json')})")


if __name__ == "__main__":
    main()
