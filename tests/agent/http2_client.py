#!/usr/bin/python3
"""A scriptable HTTP/2 client (python3-h2) for the server tests: well-behaved requests and
the misbehaviours the server must survive. Prints one result line; exit status 0 unless the
script itself failed to run.

usage: http2_client.py MODE --port P --ca CA [--cert C --key K] [options]
modes:
  get           GET --path; prints "status=<s> body=<json-string> trailers=<json>"
  post          POST --path with --body-size bytes (no content-length); prints status
  rapid-reset   opens --count streams, resetting each at once; prints "goaway=<code>" or
                "no-goaway served=<n>"
  header-flood  one request with --count headers of 100 bytes; prints "reset=<code>" or status
  continuation-flood  HEADERS + --count CONTINUATION frames; prints "goaway=<code>" / "closed"
  ping-flood    --count PINGs without reading; prints "closed" or "open"
  slow-reader   GET --path advertising a 1-byte window and never reading; waits --seconds;
                prints "closed after=<s>" or "open"
  idle          completes the handshake, sends nothing; prints "closed after=<s>" or "open"
"""
import argparse
import json
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack
import hyperframe.frame


def connect(args, alpn=("h2",)):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(args.ca)
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(list(alpn))
    raw = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    sock = ctx.wrap_socket(raw, server_hostname="localhost")
    return sock


def h2conn(sock, settings=None):
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                               header_encoding="utf-8"))
    conn.initiate_connection()
    if settings:
        conn.update_settings(settings)
    sock.sendall(conn.data_to_send())
    return conn


def base_headers(args, method="GET", path=None):
    return [(":method", method), (":path", path or args.path), (":scheme", "https"),
            (":authority", "localhost")]


def pump(sock, conn, until, deadline=10.0):
    """Reads events until until(events) is true or the socket closes; returns all events."""
    got = []
    end = time.time() + deadline
    while time.time() < end:
        try:
            data = sock.recv(65536)
        except (socket.timeout, ssl.SSLError, ConnectionError, OSError):
            got.append("closed")
            return got
        if not data:
            got.append("closed")
            return got
        try:
            events = conn.receive_data(data)
        except Exception as e:  # protocol error seen by the client
            got.append(f"client-error:{e}")
            return got
        got.extend(events)
        out = conn.data_to_send()
        if out:
            try:
                sock.sendall(out)
            except OSError:
                got.append("closed")
                return got
        if until(got):
            return got
    return got


def raw_goaway(sock, seconds):
    """Reads raw bytes (ignoring the h2 state machine, which may object to frames on streams
    it reset) and returns the first GOAWAY's error code, "closed", or None."""
    buf = b""
    end = time.time() + seconds
    sock.settimeout(1)
    while time.time() < end:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except (ssl.SSLError, OSError):
            return "closed"
        if not data:
            return "closed"
        buf += data
        while len(buf) >= 9:
            length = int.from_bytes(buf[0:3], "big")
            if len(buf) < 9 + length:
                break
            ftype = buf[3]
            payload = buf[9:9 + length]
            buf = buf[9 + length:]
            if ftype == 7 and len(payload) >= 8:
                return int.from_bytes(payload[4:8], "big")
    return None


def goaway_of(events):
    for e in events:
        if isinstance(e, h2.events.ConnectionTerminated):
            return e.error_code
    return None


def mode_get(args):
    sock = connect(args)
    conn = h2conn(sock)
    conn.send_headers(1, base_headers(args), end_stream=True)
    sock.sendall(conn.data_to_send())
    body = b""
    status = None
    trailers = {}
    done = False
    end = time.time() + 20
    while not done and time.time() < end:
        data = sock.recv(65536)
        if not data:
            break
        for e in conn.receive_data(data):
            if isinstance(e, h2.events.ResponseReceived):
                status = dict(e.headers)[":status"]
            elif isinstance(e, h2.events.DataReceived):
                body += e.data
                conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
            elif isinstance(e, h2.events.TrailersReceived):
                trailers = dict(e.headers)
            elif isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)):
                done = True
        sock.sendall(conn.data_to_send())
    print(f"status={status} body={json.dumps(body.decode(errors='replace'))} "
          f"trailers={json.dumps(trailers, sort_keys=True)}")


def mode_post(args):
    sock = connect(args)
    conn = h2conn(sock)
    conn.send_headers(1, base_headers(args, "POST"))
    sock.sendall(conn.data_to_send())
    remaining = args.body_size
    chunk = b"x" * 16384
    status = None
    # Send as the window allows; stop when the server answers or resets.
    while remaining > 0 and status is None:
        window = min(conn.local_flow_control_window(1), conn.max_outbound_frame_size)
        if window <= 0:
            for e in pump(sock, conn, lambda ev: True, 5):
                if isinstance(e, h2.events.ResponseReceived):
                    status = dict(e.headers)[":status"]
                if e == "closed" or isinstance(e, h2.events.StreamReset):
                    status = status or "reset"
            continue
        n = min(window, remaining, len(chunk))
        try:
            conn.send_data(1, chunk[:n])
        except Exception:
            break
        remaining -= n
        sock.sendall(conn.data_to_send())
    if status is None:
        try:
            conn.end_stream(1)
            sock.sendall(conn.data_to_send())
        except Exception:
            pass
        for e in pump(sock, conn, lambda ev: any(
                isinstance(x, (h2.events.ResponseReceived, h2.events.StreamReset)) for x in ev)):
            if isinstance(e, h2.events.ResponseReceived):
                status = dict(e.headers)[":status"]
            elif isinstance(e, h2.events.StreamReset):
                status = status or "reset"
    print(f"status={status}")


def mode_rapid_reset(args):
    sock = connect(args)
    conn = h2conn(sock)
    sid = 1
    for i in range(args.count):
        try:
            conn.send_headers(sid, base_headers(args), end_stream=True)
            conn.reset_stream(sid)
        except Exception:
            break
        sid += 2
        if i % 50 == 49:
            try:
                sock.sendall(conn.data_to_send())
            except OSError:
                break
    try:
        sock.sendall(conn.data_to_send())
    except OSError:
        pass
    code = raw_goaway(sock, 10)
    print(f"goaway={code}" if isinstance(code, int) else f"no-goaway {code}")


def mode_header_flood(args):
    sock = connect(args)
    conn = h2conn(sock)
    headers = base_headers(args) + [(f"x-flood-{i}", "v" * 90) for i in range(args.count)]
    conn.send_headers(1, headers, end_stream=True)
    sock.sendall(conn.data_to_send())
    events = pump(sock, conn, lambda ev: any(
        isinstance(e, (h2.events.StreamReset, h2.events.ResponseReceived,
                       h2.events.ConnectionTerminated)) for e in ev) or "closed" in ev)
    for e in events:
        if isinstance(e, h2.events.StreamReset):
            print(f"reset={int(e.error_code)}")
            return
        if isinstance(e, h2.events.ResponseReceived):
            print(f"status={dict(e.headers)[':status']}")
            return
        if isinstance(e, h2.events.ConnectionTerminated):
            print(f"goaway={int(e.error_code)}")
            return
    print("closed")


def mode_hpack_bomb(args):
    """One 4000-byte header entered into the HPACK dynamic table, then referenced --count times
    (one byte each on the wire): the decoded list is huge, the frame tiny."""
    sock = connect(args)
    conn = h2conn(sock)
    pump(sock, conn, lambda ev: any(isinstance(e, h2.events.SettingsAcknowledged) for e in ev), 3)
    enc = hpack.Encoder()
    block = enc.encode(base_headers(args) + [("x-bomb", "b" * 4000)] * args.count)
    f = hyperframe.frame.HeadersFrame(1)
    f.data = block
    f.flags.add("END_HEADERS")
    f.flags.add("END_STREAM")
    sock.sendall(f.serialize())
    # Raw frames: the h2 state machine never saw stream 1 and would reject the answer.
    result = "none"
    buf = b""
    end = time.time() + 5
    sock.settimeout(0.5)
    while time.time() < end and result == "none":
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except (ssl.SSLError, OSError):
            result = "closed"
            break
        if not data:
            result = "closed"
            break
        buf += data
        while len(buf) >= 9 and result == "none":
            length = int.from_bytes(buf[0:3], "big")
            if len(buf) < 9 + length:
                break
            ftype, sid = buf[3], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            if ftype == 3 and sid == 1:
                result = f"reset={int.from_bytes(buf[9:13], 'big')}"
            elif ftype == 1 and sid == 1:
                result = "response"
            elif ftype == 7:
                result = f"goaway={int.from_bytes(buf[13:17], 'big')}"
            buf = buf[9 + length:]
    print(f"{result} wire={len(block)}")


def mode_continuation_flood(args):
    sock = connect(args)
    conn = h2conn(sock)
    pump(sock, conn, lambda ev: any(isinstance(e, h2.events.SettingsAcknowledged) for e in ev), 3)
    enc = hpack.Encoder()
    block = enc.encode(base_headers(args))
    frames = []
    f = hyperframe.frame.HeadersFrame(1)
    f.data = block
    frames.append(f.serialize())
    for i in range(args.count):
        c = hyperframe.frame.ContinuationFrame(1)
        c.data = enc.encode([(f"x-c-{i}", "y" * 50)])
        frames.append(c.serialize())
    try:
        sock.sendall(b"".join(frames))
    except OSError:
        print("closed")
        return
    code = raw_goaway(sock, 10)
    print(f"goaway={code}" if isinstance(code, int) else "closed" if code == "closed" else "open")


def drained_to_eof(sock):
    """True when the server has closed the connection (EOF or reset while draining)."""
    sock.settimeout(2)
    try:
        while True:
            if not sock.recv(1 << 20):
                return True
    except socket.timeout:
        return False
    except (ssl.SSLError, OSError):
        return True


def mode_ping_flood(args):
    """--count PINGs as fast as the server takes them, never reading the ACKs, then wait
    until --seconds have passed: the server must end the connection (flood detection,
    stalled output or idle timeout) without buffering without bound."""
    sock = connect(args)
    h2conn(sock)
    start = time.time()
    sock.settimeout(1)
    sent = 0
    try:
        for i in range(args.count):
            p = hyperframe.frame.PingFrame(0)
            p.opaque_data = i.to_bytes(8, "big")
            sock.sendall(p.serialize())
            sent += 1
            if time.time() - start > args.seconds:
                break
    except (socket.timeout, OSError):
        pass
    time.sleep(max(0.0, args.seconds - (time.time() - start)))
    print("closed" if drained_to_eof(sock) else f"open sent={sent}")


def mode_slow_reader(args):
    """GET --path and never read. --window big: huge HTTP/2 windows, so the server's output
    piles up in TCP buffers (a TCP-level stall); --window tiny: a 1-byte window never
    reopened (an HTTP/2 flow-control stall)."""
    sock = connect(args)
    if args.window == "big":
        conn = h2conn(sock, {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2**31 - 1})
        conn.increment_flow_control_window(2**31 - 1 - 65535)
    else:
        conn = h2conn(sock, {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1})
    conn.send_headers(1, base_headers(args), end_stream=True)
    sock.sendall(conn.data_to_send())
    start = time.time()
    time.sleep(args.seconds)
    # Drain: EOF or reset means the server closed us; a quiet socket means it did not.
    sock.settimeout(2)
    closed = False
    try:
        while True:
            d = sock.recv(1 << 20)
            if not d:
                closed = True
                break
    except socket.timeout:
        closed = False
    except (ssl.SSLError, OSError):
        closed = True
    print("closed" if closed else "open")


def mode_many_streams(args):
    """Opens --count streams whose requests never end (raw frames: h2 itself would respect the
    server's limit); prints how many the server refused with REFUSED_STREAM."""
    sock = connect(args)
    h2conn(sock)
    enc = hpack.Encoder()
    frames = []
    for i in range(args.count):
        f = hyperframe.frame.HeadersFrame(1 + 2 * i)
        f.data = enc.encode(base_headers(args, "POST"))
        f.flags.add("END_HEADERS")
        frames.append(f.serialize())
    sock.sendall(b"".join(frames))
    refused = 0
    buf = b""
    end = time.time() + 3
    sock.settimeout(0.5)
    while time.time() < end and refused < args.count:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except (ssl.SSLError, OSError):
            break
        if not data:
            break
        buf += data
        while len(buf) >= 9:
            length = int.from_bytes(buf[0:3], "big")
            if len(buf) < 9 + length:
                break
            if buf[3] == 3 and int.from_bytes(buf[9:13], "big") == 7:
                refused += 1
            buf = buf[9 + length:]
    print(f"refused={refused}")


def mode_many_bodies(args):
    """--count streams each sending --body-size bytes without ever ending their request;
    prints how many got which status (the server must refuse once its per-connection body
    budget is spent)."""
    sock = connect(args)
    conn = h2conn(sock)
    pump(sock, conn, lambda ev: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in ev), 3)
    sids = [1 + 2 * i for i in range(args.count)]
    for sid in sids:
        conn.send_headers(sid, base_headers(args, "POST"))
    sock.sendall(conn.data_to_send())
    remaining = {sid: args.body_size for sid in sids}
    statuses = {}
    end = time.time() + 15
    sock.settimeout(0.2)
    while time.time() < end and len(statuses) < args.count:
        progressed = False
        for sid in sids:
            if sid in statuses or remaining[sid] == 0:
                continue
            try:
                n = min(remaining[sid], conn.local_flow_control_window(sid),
                        conn.max_outbound_frame_size)
            except Exception:
                continue
            if n > 0:
                conn.send_data(sid, b"x" * n)
                remaining[sid] -= n
                progressed = True
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            if not progressed and all(remaining[s] == 0 for s in sids if s not in statuses):
                break
            continue
        if not data:
            break
        for e in conn.receive_data(data):
            if isinstance(e, h2.events.ResponseReceived):
                statuses[e.stream_id] = dict(e.headers)[":status"]
            elif isinstance(e, h2.events.StreamReset) and e.stream_id not in statuses:
                statuses[e.stream_id] = "reset"
                remaining[e.stream_id] = 0
            elif isinstance(e, h2.events.DataReceived):
                conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
    counts = {}
    for v in statuses.values():
        counts[v] = counts.get(v, 0) + 1
    print(" ".join(f"{k}={counts[k]}" for k in sorted(counts)) or "none")


def mode_idle(args):
    sock = connect(args)
    start = time.time()
    sock.settimeout(args.seconds)
    closed = False
    try:
        while time.time() - start < args.seconds:
            d = sock.recv(65536)
            if not d:
                closed = True
                break
    except socket.timeout:
        pass
    except (ssl.SSLError, OSError):
        closed = True
    print(f"closed after={time.time() - start:.1f}" if closed else "open")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--path", default="/v1/status")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--body-size", type=int, default=1 << 20)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--window", choices=["big", "tiny"], default="big")
    args = p.parse_args()
    modes = {"get": mode_get, "post": mode_post, "rapid-reset": mode_rapid_reset,
             "header-flood": mode_header_flood, "continuation-flood": mode_continuation_flood,
             "ping-flood": mode_ping_flood, "many-streams": mode_many_streams,
             "hpack-bomb": mode_hpack_bomb, "many-bodies": mode_many_bodies, "slow-reader": mode_slow_reader, "idle": mode_idle}
    try:
        modes[args.mode](args)
    except (ssl.SSLError, ConnectionError, OSError) as e:
        print(f"connect-failed {type(e).__name__}")


if __name__ == "__main__":
    sys.exit(main())
