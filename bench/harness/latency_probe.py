#!/usr/bin/env python3
"""latency_probe: our own small probe beside the load. One SMTP session; per message it sends
MAIL, RCPT, DATA and the body, then times from sending the final "." line to reading the complete
end-of-data reply (perf_counter_ns). Runs until SIGTERM, --max-seconds or --max-messages, whichever
comes first (bounded), pacing --interval seconds between messages. Writes one JSON object to --out:
{"latencies_us": [...], "errors": [...]}.

Usage: latency_probe.py --port P --out FILE [--interval 0.01] [--body 4096] [--max-seconds 600]
"""
import argparse, json, signal, socket, time

stop = False


def on_term(*_):
    global stop
    stop = True


def read_reply(sock, buf):
    """Reads one (possibly multi-line) reply; returns (code, text, rest_of_buffer)."""
    lines = []
    while True:
        while b"\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by server")
            buf += chunk
        line, buf = buf.split(b"\r\n", 1)
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3]), b"\n".join(lines).decode("latin-1"), buf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=0.01)
    ap.add_argument("--body", type=int, default=4096)
    ap.add_argument("--max-seconds", type=float, default=600)
    ap.add_argument("--max-messages", type=int, default=100000)
    ap.add_argument("--rcpt", default="probe@bench.test")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    line = b"X" * 76 + b"\r\n"
    body = (b"From: <probe@bench.test>\r\nTo: <" + a.rcpt.encode() + b">\r\nSubject: latency probe\r\n\r\n"
            + line * max(1, a.body // len(line)))
    lat, errors = [], []
    deadline = time.monotonic() + a.max_seconds
    sock = None
    buf = b""
    try:
        while not stop and time.monotonic() < deadline and len(lat) + len(errors) < a.max_messages:
            try:
                if sock is None:
                    sock = socket.create_connection(("127.0.0.1", a.port), timeout=30)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    buf = b""
                    code, text, buf = read_reply(sock, buf)
                    if code != 220:
                        raise ConnectionError("greeting: " + text)
                    sock.sendall(b"EHLO probe.bench.test\r\n")
                    code, text, buf = read_reply(sock, buf)
                for cmd in (b"MAIL FROM:<probe@bench.test>\r\n", b"RCPT TO:<" + a.rcpt.encode() + b">\r\n", b"DATA\r\n"):
                    sock.sendall(cmd)
                    code, text, buf = read_reply(sock, buf)
                    if code >= 400:
                        raise RuntimeError(cmd.strip().decode() + ": " + text)
                sock.sendall(body)
                t0 = time.perf_counter_ns()
                sock.sendall(b".\r\n")
                code, text, buf = read_reply(sock, buf)
                t1 = time.perf_counter_ns()
                if code == 250:
                    lat.append((t1 - t0) / 1000.0)
                else:
                    errors.append(text)
            except (OSError, ConnectionError, RuntimeError) as e:
                errors.append(str(e))
                try:
                    if sock is not None:
                        sock.close()
                except OSError:
                    pass
                sock = None
                time.sleep(0.2)
            if a.interval > 0:
                time.sleep(a.interval)
    finally:
        if sock is not None:
            try:
                sock.sendall(b"QUIT\r\n")
                sock.close()
            except OSError:
                pass
        with open(a.out, "w") as f:
            json.dump({"latencies_us": lat, "errors": errors[:50], "error_count": len(errors)}, f)


if __name__ == "__main__":
    main()
