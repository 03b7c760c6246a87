#!/usr/bin/env python3
"""idle_sessions: opens N SMTP sessions to 127.0.0.1:PORT, reads the greeting, sends EHLO (and with
--tls: STARTTLS, the TLS handshake, EHLO again), then holds them all open, idle. Prints
"READY ok=N failed=M" on stdout once every session is set up (or has failed), then holds until
stdin is closed, SIGTERM, or --hold seconds (bounded), and closes everything.

Usage: idle_sessions.py --port P --count 10000 [--tls] [--parallel 200] [--hold 300]
"""
import argparse, asyncio, resource, signal, ssl, sys


async def read_reply(reader):
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed by server")
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3]), b"".join(lines)


async def one(port, tls, ctx, gate, held, errors):
    async with gate:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 60)
            code, _ = await asyncio.wait_for(read_reply(reader), 60)
            if code != 220:
                raise ConnectionError(f"greeting {code}")
            writer.write(b"EHLO idle.bench.test\r\n")
            code, _ = await asyncio.wait_for(read_reply(reader), 60)
            if tls:
                writer.write(b"STARTTLS\r\n")
                code, text = await asyncio.wait_for(read_reply(reader), 60)
                if code != 220:
                    raise ConnectionError(f"STARTTLS {code} {text!r}")
                await asyncio.wait_for(writer.start_tls(ctx), 60)
                writer.write(b"EHLO idle.bench.test\r\n")
                code, _ = await asyncio.wait_for(read_reply(reader), 60)
            if code != 250:
                raise ConnectionError(f"EHLO {code}")
            held.append(writer)
        except Exception as e:  # noqa: BLE001 - any failure counts as a failed session
            errors.append(repr(e))


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--parallel", type=int, default=200)
    ap.add_argument("--hold", type=float, default=300)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.count + 1000
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    gate = asyncio.Semaphore(a.parallel)
    held, errors = [], []
    await asyncio.gather(*(one(a.port, a.tls, ctx, gate, held, errors) for _ in range(a.count)))
    print(f"READY ok={len(held)} failed={len(errors)}", flush=True)
    for e in errors[:5]:
        print("error: " + e, flush=True)
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    loop.add_reader(sys.stdin.fileno(), lambda: done.set() if not sys.stdin.buffer.read1(1) else None)
    try:
        await asyncio.wait_for(done.wait(), a.hold)
    except asyncio.TimeoutError:
        pass
    for w in held:
        w.transport.abort()


if __name__ == "__main__":
    asyncio.run(main())
