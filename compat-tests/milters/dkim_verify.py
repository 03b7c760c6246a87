#!/usr/bin/python3
# dkim_verify.py: an independent DKIM verifier (Debian python3-dkim, i.e. dkimpy) for the compat tests.
# Usage: /usr/bin/python3 dkim_verify.py TXTFILE < message
#   TXTFILE holds the public key record ("v=DKIM1; k=rsa; p=...") that a DNS lookup of
#   <selector>._domainkey.<domain> would return; every DNS query is answered from it (no network).
#   The message may have LF or CRLF line ends (LF is turned into CRLF, as on the wire).
# Prints the verification result and the signature's d= and s=; exit 0 if every signature verifies, 1 if not.
import sys

import dkim

txt = open(sys.argv[1], "rb").read().strip()
queries = []


def dnsfunc(name, timeout=5):
    queries.append(name)
    return txt


raw = sys.stdin.buffer.read()
msg = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
d = dkim.DKIM(msg)
ok = d.verify(dnsfunc=dnsfunc)
print("dkim verify: %s; queried %s; domain %s; selector %s" % (
    "pass" if ok else "FAIL", [q.decode() if isinstance(q, bytes) else q for q in queries],
    d.domain.decode() if d.domain else None, d.selector.decode() if d.selector else None))
sys.exit(0 if ok else 1)
