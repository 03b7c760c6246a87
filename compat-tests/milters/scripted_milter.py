#!/usr/bin/python3
# scripted_milter.py: a test milter on the real libmilter (Debian python3-milter, "import Milter") that
# performs whatever the message asks for, and logs everything the MTA sent it, so that compat tests can
# run the same script through Postfix and through our MTA and compare both the MTA's reactions and what
# each MTA showed the milter.
#
# Usage: /usr/bin/python3 scripted_milter.py PORT LOGFILE [CONTROLDIR]
#   listens on inet:PORT@127.0.0.1; appends one JSON object per line to LOGFILE.
#
# What drives it:
#   - CONTROLDIR/connect-action (read at every CONNECT, optional): one action for the CONNECT stage.
#   - HELO name "<action>-helo"                    -> that action at HELO (e.g. reject-helo, tempfail-helo)
#   - sender local part "<action>-at-<stage>"      -> that action at stage mail, data, eoh or body
#     (e.g. reject-at-mail@x, tempfail-at-data@x, discard-at-mail@x, accept-at-mail@x)
#   - recipient local part "<action>-at-rcpt"      -> that action for that recipient at RCPT
#   - one or more "X-Test-Action:" header fields   -> performed in order at end of message:
#       reject | tempfail | discard | accept | continue
#       replycode 550 5.7.0 custom text            (smfi_setreply, then REJECT/TEMPFAIL by the code class)
#       quarantine some reason                     (smfi_quarantine; not final)
#       addheader Name: value                      (smfi_addheader)
#       insheader IDX Name: value                  (smfi_insheader)
#       chgheader Name IDX new value               (smfi_chgheader)
#       delheader Name IDX                         (smfi_chgheader with an empty value)
#       addrcpt <x@y> | addrcpt_par <x@y> NOTIFY=NEVER | delrcpt <a@b> | chgfrom <new@x> [RET=HDRS]
#       replbody text                              (smfi_replacebody)
#       sleep SECONDS                              (before the final answer)
#     Action arguments may carry {LF}, {TAB}, {CR} for those characters (folded header values, multi-line
#     bodies; swaks would turn a literal backslash-n in the message into a line break).
#   where <action> for the early stages is reject | tempfail | discard | accept | replycode (a fixed
#   "550 5.7.1 scripted refusal at STAGE", or 421 4.7.0 for "shutdown") | quarantine.
#
# Log records: {"conn": N, "ev": EVENT, ...} with EVENT in negotiate, connect, helo, mail, rcpt, data,
# header, eoh, body, eom, abort, close, and "macros": the values of every macro in MACROS that
# smfi_getsymval returned at that callback (libmilter also returns values sent at earlier stages).
# Header values are logged as received (bytes as Latin-1), body as total length + SHA-256 per message.
import hashlib
import json
import os
import sys
import threading
import time

import Milter

MACROS = ["i", "j", "_", "v", "{daemon_name}", "{daemon_addr}", "{daemon_port}", "{client_addr}", "{client_name}",
          "{client_port}", "{client_ptr}", "{client_connections}", "{mail_addr}", "{mail_host}", "{mail_mailer}",
          "{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}", "{auth_type}", "{auth_authen}", "{auth_author}",
          "{tls_version}", "{cipher}", "{cipher_bits}", "{cert_subject}", "{cert_issuer}"]

LOG_LOCK = threading.Lock()
LOG_FILE = None
CONTROL_DIR = None


def log(record):
    line = json.dumps(record, ensure_ascii=True, sort_keys=True)
    with LOG_LOCK:
        LOG_FILE.write(line + "\n")
        LOG_FILE.flush()


def unescape(s):
    return s.replace("{LF}", "\n").replace("{TAB}", "\t").replace("{CR}", "\r")


def latin1(b):
    return b.decode("latin-1") if isinstance(b, bytes) else b


class Scripted(Milter.Base):
    def __init__(self):
        self.id = Milter.uniqueID()
        self.sender = ""
        self.actions = []
        self.body_hash = hashlib.sha256()
        self.body_len = 0
        self.body_chunks = []

    def macros(self):
        found = {}
        for m in MACROS:
            try:
                v = self.getsymval(m)
            except Exception:  # noqa: BLE001 - libmilter may refuse a name
                v = None
            if v is not None:
                found[m] = v
        return found

    def ev(self, name, **data):
        data.update({"conn": self.id, "ev": name, "macros": self.macros()})
        log(data)

    # An early-stage action named by an envelope cue.
    def early(self, action, stage):
        if action == "reject":
            return Milter.REJECT
        if action == "tempfail":
            return Milter.TEMPFAIL
        if action == "discard":
            return Milter.DISCARD
        if action == "accept":
            return Milter.ACCEPT
        if action == "replycode":
            self.setreply("550", "5.7.1", "scripted refusal at " + stage)
            return Milter.REJECT
        if action == "shutdown":
            self.setreply("421", "4.7.0", "scripted shutdown at " + stage)
            return Milter.TEMPFAIL
        if action == "quarantine":
            self.quarantine("scripted quarantine at " + stage)
            return Milter.CONTINUE
        return Milter.CONTINUE

    def cue(self, address, stage):
        local = address.strip("<>").split("@")[0].lower()
        suffix = "-at-" + stage
        return self.early(local[:-len(suffix)], stage) if local.endswith(suffix) else Milter.CONTINUE

    def negotiate(self, opts):
        offered = list(opts)
        rc = Milter.Base.negotiate(self, opts)
        log({"conn": self.id, "ev": "negotiate", "offered_actions": offered[0], "offered_protocol": offered[1],
             "chosen_protocol": opts[1]})
        return rc

    def connect(self, hostname, family, hostaddr):
        self.ev("connect", hostname=hostname, family=str(family), hostaddr=str(hostaddr[0]) if isinstance(hostaddr, tuple) else str(hostaddr))
        action = ""
        if CONTROL_DIR:
            try:
                with open(os.path.join(CONTROL_DIR, "connect-action")) as f:
                    action = f.read().strip()
            except OSError:
                pass
        return self.early(action, "connect")

    def hello(self, heloname):
        self.ev("helo", helo=heloname)
        h = heloname.lower()
        return self.early(h[:-5], "helo") if h.endswith("-helo") else Milter.CONTINUE

    def envfrom(self, f, *params):
        self.sender = f
        self.actions = []
        self.body_hash = hashlib.sha256()
        self.body_len = 0
        self.body_chunks = []
        self.ev("mail", sender=f, params=list(params))
        return self.cue(f, "mail")

    def envrcpt(self, to, *params):
        self.ev("rcpt", rcpt=to, params=list(params))
        return self.cue(to, "rcpt")

    def data(self):
        self.ev("data")
        return self.cue(self.sender, "data")

    @Milter.decode("bytes")
    def header(self, name, value):
        v = latin1(value)
        log({"conn": self.id, "ev": "header", "name": name, "value": v})
        if name.lower() == "x-test-action":
            self.actions.append(v)
        return Milter.CONTINUE

    def eoh(self):
        self.ev("eoh")
        return self.cue(self.sender, "eoh")

    def body(self, chunk):
        self.body_hash.update(chunk)
        self.body_len += len(chunk)
        self.body_chunks.append(len(chunk))
        r = self.cue(self.sender, "body")
        return r

    def eom(self):
        self.ev("eom", body_len=self.body_len, body_sha256=self.body_hash.hexdigest(), body_chunks=self.body_chunks,
                actions=self.actions)
        final = Milter.CONTINUE
        for raw in self.actions:
            verb, _, rest = raw.strip().partition(" ")
            verb = verb.lower()
            rest = unescape(rest)
            if verb == "reject":
                final = Milter.REJECT
            elif verb == "tempfail":
                final = Milter.TEMPFAIL
            elif verb == "discard":
                final = Milter.DISCARD
            elif verb == "accept":
                final = Milter.ACCEPT
            elif verb == "continue":
                final = Milter.CONTINUE
            elif verb == "replycode":
                parts = rest.split(" ", 2)
                code = parts[0]
                xcode = parts[1] if len(parts) > 1 and parts[1][:1].isdigit() else None
                text = parts[2] if xcode and len(parts) > 2 else (" ".join(parts[1:]) if not xcode else "")
                lines = text.split("\n")
                self.setreply(code, xcode, *lines)
                final = Milter.REJECT if code.startswith("5") else Milter.TEMPFAIL
            elif verb == "quarantine":
                self.quarantine(rest)
            elif verb == "addheader":
                name, _, value = rest.partition(":")
                self.addheader(name.strip(), value.lstrip(" "))
            elif verb == "insheader":
                idx, _, hdr = rest.partition(" ")
                name, _, value = hdr.partition(":")
                self.addheader(name.strip(), value.lstrip(" "), int(idx))
            elif verb == "chgheader":
                name, idx, value = (rest.split(" ", 2) + [""])[:3]
                self.chgheader(name, int(idx), value)
            elif verb == "delheader":
                name, idx = rest.split(" ", 1)
                self.chgheader(name, int(idx), "")
            elif verb == "addrcpt":
                self.addrcpt(rest.strip())
            elif verb == "addrcpt_par":
                addr, _, params = rest.partition(" ")
                self.addrcpt(addr, params or None)
            elif verb == "delrcpt":
                self.delrcpt(rest.strip())
            elif verb == "chgfrom":
                addr, _, params = rest.partition(" ")
                self.chgfrom(addr, params or None)
            elif verb == "replbody":
                self.replacebody(rest.encode("utf-8"))
            elif verb == "sleep":
                time.sleep(float(rest))
            else:
                log({"conn": self.id, "ev": "error", "unknown_action": raw})
        log({"conn": self.id, "ev": "eom-done", "final": final})
        return final

    def abort(self):
        log({"conn": self.id, "ev": "abort"})
        return Milter.CONTINUE

    def close(self):
        log({"conn": self.id, "ev": "close"})
        return Milter.CONTINUE


def main():
    global LOG_FILE, CONTROL_DIR
    port = int(sys.argv[1])
    LOG_FILE = open(sys.argv[2], "a", encoding="ascii")
    CONTROL_DIR = sys.argv[3] if len(sys.argv) > 3 else None
    Milter.factory = Scripted
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGBODY | Milter.ADDRCPT | Milter.ADDRCPT_PAR | Milter.DELRCPT |
                     Milter.CHGHDRS | Milter.QUARANTINE | Milter.CHGFROM)
    print("scripted_milter: listening on inet:%d@127.0.0.1, log %s" % (port, sys.argv[2]), flush=True)
    Milter.runmilter("scripted", "inet:%d@127.0.0.1" % port, timeout=600)


if __name__ == "__main__":
    main()
