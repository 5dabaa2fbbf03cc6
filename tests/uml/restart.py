#!/usr/bin/env python3
# tests/uml/restart.py SOCKET STATEFILE - queues stopped and restarted
# mid-ring, against examples/vhost-user-net --pairs 1 --state STATEFILE
# (simulated device, frames looped from TX into RX).  A Python front-end
# and virtio driver push 65534 frames, stop the
# back-end with GET_VRING_BASE (each base must be what the driver saw
# consumed: receive buffers posted but unused are given back), start it
# again as QEMU does (SET_VRING_NUM/BASE/ADDR/KICK/CALL, ENABLE) with that
# base, and push more, twice, the indexes wrapping past 65535 across the
# first restart.  Every frame must come back exactly once and byte-exact,
# the used entries continue the used indexes, and a MAC_ADDR_SET after
# each restart is answered VIRTIO_NET_OK and shows in the state file.
# Then, each on a new connection, a base 1000 ahead of the guest's avail
# idx and a first start at base 100 (no stop to continue) must be
# refused: the back-end closes the connection.  Exits 1
# naming the first failed check.
import os
import random
import struct
import sys
import time

import vufront as vu
from vufront import fail

vu.name = 'restart'
NUM, START = 64, 65530
RX, TX, CVQ = 0, 1, 2
BUF = vu.GPA + 0x100000  # frame buffers: 2 KiB per (queue, slot)
HDR = 12                 # virtio_net_hdr_v1 (VERSION_1)
sock, state = sys.argv[1], sys.argv[2]
rng = random.Random(7)


def buf(q, slot):
    return BUF + (q * NUM + slot) * 2048


def start(conn, rings, bases):
    for r, b in zip(rings, bases):
        r.start(conn, b)


def connect(mem):
    conn = vu.Conn(sock)
    conn.send(vu.SET_OWNER)
    offered = conn.get_u64(vu.GET_FEATURES)
    want = (1 << vu.F_VERSION_1) | (1 << vu.F_PROTOCOL) | (1 << vu.F_MAC) | \
        (1 << vu.F_CTRL_VQ) | (1 << 23)  # CTRL_MAC_ADDR
    if offered & want != want:
        fail('features 0x%x offered, 0x%x wanted' % (offered, want))
    conn.get_u64(vu.GET_PROTOCOL_FEATURES)
    conn.send(vu.SET_PROTOCOL_FEATURES, vu.u64(1 << vu.P_REPLY_ACK))
    conn.ack(vu.SET_FEATURES, vu.u64(want))
    mem.table(conn)
    return conn


mem = vu.Memory()
conn = connect(mem)
rx, tx, cvq = (vu.Vring(mem, RX, NUM), vu.Vring(mem, TX, NUM),
               vu.Vring(mem, CVQ, NUM, width=2))
rings = (rx, tx, cvq)
start(conn, rings, [0] * 3)

sent, got = {}, {}
seq = 0
posted_rx = 0  # receive buffers available, not yet used


def post_rx(n):
    global posted_rx
    for _ in range(n):
        rx.post([(buf(RX, rx.avail_idx % NUM), 2048, True)], kick=False)
        posted_rx += 1
    os.eventfd_write(rx.kick, 1)
    conn.settle()


def frames(n):
    """n frames through the loopback, each checked as it comes back."""
    global seq, posted_rx
    for _ in range(n):
        if posted_rx == 0:
            post_rx(8)
        seq += 1
        f = bytes(HDR) + vu.MAC_DST + MAC_SRC + b'\x88\xb5' + \
            struct.pack('<I', seq) + bytes(rng.randrange(256) for _ in range(rng.randrange(40, 1400)))
        slot = tx.avail_idx % NUM
        mem.write(buf(TX, slot), f)
        head = tx.post([(buf(TX, slot), len(f), False)])
        (uid, _), = tx.take_used(1)
        if uid != head:
            fail('tx: used id %d, head %d expected (used idx %d)' % (uid, head, tx.used_seen))
        want = rx.used_seen % NUM
        (uid, ln), = rx.take_used(1)
        posted_rx -= 1
        if uid != want:
            fail('rx: used id %d, %d expected (used idx %d)' % (uid, want, rx.used_seen))
        data = mem.read(buf(RX, uid), ln)
        s = struct.unpack('<I', data[HDR + 14:HDR + 18])[0] if ln >= HDR + 18 else -1
        if s in got:
            fail('frame %d came back twice' % s)
        got[s] = data
        if data[HDR:] != f[HDR:]:
            fail('frame %d came back as %d bytes, %d sent, or different' % (seq, ln, len(f)))
        sent[seq] = f


def bulk(n, batch=32):
    """n short frames through the loopback, batch at a time."""
    global seq
    while n > 0:
        k = min(n, batch)
        for _ in range(k):
            rx.post([(buf(RX, rx.avail_idx % NUM), 2048, True)], kick=False)
        os.eventfd_write(rx.kick, 1)
        conn.settle()
        heads, fs = [], []
        for _ in range(k):
            seq += 1
            f = bytes(HDR) + vu.MAC_DST + MAC_SRC + b'\x88\xb5' + struct.pack('<I', seq) + bytes(46)
            slot = tx.avail_idx % NUM
            mem.write(buf(TX, slot), f)
            heads.append(tx.post([(buf(TX, slot), len(f), False)], kick=False))
            fs.append(f)
        os.eventfd_write(tx.kick, 1)
        if [u for u, _ in tx.take_used(k)] != heads:
            fail('tx: used ids out of order near used idx %d' % tx.used_seen)
        first = rx.used_seen
        for j, (uid, ln) in enumerate(rx.take_used(k)):
            if uid != (first + j) % NUM or mem.read(buf(RX, uid), ln)[HDR:] != fs[j][HDR:]:
                fail('rx: entry %d: id %d, frame %d not back byte-exact' % (first + j, uid, seq - k + j + 1))
            sent[seq - k + j + 1] = got[seq - k + j + 1] = fs[j]
        n -= k


def mac_set(mac):
    """MAC_ADDR_SET (class 1 cmd 1): the answer byte."""
    slot = cvq.avail_idx % NUM
    cmd, ackb = buf(CVQ, slot), buf(CVQ, slot) + 1024
    mem.write(cmd, bytes([1, 1]) + mac)
    mem.write(ackb, b'\xff')
    head = cvq.post([(cmd, 8, False), (ackb, 1, True)])
    (uid, ln), = cvq.take_used(1)
    if uid != head or ln < 1:
        fail('control queue: used id %d len %d, head %d expected' % (uid, ln, head))
    return mem.read(ackb, 1)[0]


def state_mac(mac):
    want = 'mac ' + ':'.join('%02x' % b for b in mac)
    end = time.monotonic() + 5
    while time.monotonic() < end:
        try:
            lines = open(state).read().splitlines()
        except OSError:
            lines = []
        if want in lines and 'agree yes' in lines:
            return
        time.sleep(0.05)
    fail('the state file does not show "%s" with "agree yes": %r' % (want, lines))


def stop_and_restart(what):
    # The driver saw rx.used_seen receive buffers and tx.used_seen frames
    # consumed; receive buffers still posted are given back.
    bases = [r.stop(conn) for r in rings]
    want = [rx.used_seen, tx.used_seen, cvq.used_seen]
    if bases != want:
        fail('%s: GET_VRING_BASE gave %s, the driver saw %s consumed' % (what, bases, want))
    for r in rings:
        if r.used_idx() != r.used_seen:
            fail('%s: vring %d used idx %d, %d seen' % (what, r.q, r.used_idx(), r.used_seen))
    start(conn, rings, bases)
    conn.settle()
    return bases


vu.MAC_DST, MAC_SRC = bytes.fromhex('525400000001'), bytes.fromhex('525400000002')
t0 = time.monotonic()
bulk(START)                  # the indexes up to 65530
frames(4)                    # 65534
mac = bytes.fromhex('02aabbccdd01')
if mac_set(mac) != 0:
    fail('MAC_ADDR_SET before the restart not answered VIRTIO_NET_OK')
state_mac(mac)
post_rx(3)                   # 7 receive buffers outstanding at the stop
b1 = stop_and_restart('first restart')
state_mac(mac)               # the state the driver set up survived
frames(20)                   # wraps past 65535
mac = bytes.fromhex('02aabbccdd02')
if mac_set(mac) != 0:
    fail('MAC_ADDR_SET after the restart not answered VIRTIO_NET_OK')
state_mac(mac)
b2 = stop_and_restart('second restart')
frames(200)                  # the ring several times round
mac = bytes.fromhex('02aabbccdd03')
if mac_set(mac) != 0:
    fail('MAC_ADDR_SET after the second restart not answered VIRTIO_NET_OK')
state_mac(mac)
if sorted(got) != sorted(sent) or any(got[s][HDR:] != sent[s][HDR:] for s in sent):
    fail('%d frames sent, %d came back' % (len(sent), len(got)))
ends = [r.used_idx() for r in rings]
conn.s.close()



def refused(bases, idx, what):
    """On a new connection, rings whose guest indexes are idx started at
    bases: the back-end must close the connection."""
    global conn
    m = vu.Memory()
    conn = connect(m)
    for q, b in zip((RX, TX, CVQ), bases):
        r = vu.Vring(m, q, NUM)
        r.set_idx(idx)
        r.kick = os.eventfd(0, os.EFD_NONBLOCK)
        r.call = os.eventfd(0, os.EFD_NONBLOCK)
        conn.ack(vu.SET_VRING_NUM, struct.pack('<II', r.q, NUM))
        conn.ack(vu.SET_VRING_BASE, struct.pack('<II', r.q, b))
        conn.ack(vu.SET_VRING_ADDR, struct.pack('<IIQQQQ', r.q, 0, r.desc, r.used, r.avail, 0))
        conn.ack(vu.SET_VRING_KICK, vu.u64(r.q), [r.kick])
        conn.ack(vu.SET_VRING_CALL, vu.u64(r.q), [r.call])
        conn.send(vu.SET_VRING_ENABLE, struct.pack('<II', r.q, 1))
    if not conn.closed():
        fail('%s was taken (connection still open)' % what)
    conn.s.close()


# An absurd base: 1000 ahead of the guest's avail idx (0).
refused((1000, 0, 0), 0, 'a base 1000 ahead of avail idx 0')
# Consistent rings at 100 on a fresh connection: no stop to continue.
refused((100, 100, 100), 100, 'a start at base 100 with no stop before')
print('restart: %d frames in %.1f s, each back once and byte-exact; stopped at '
      '%s and %s (rx, tx, control) and restarted there, used idx now %s; MAC '
      'kept across the restart, MAC_ADDR_SET OK after each, in the state file; '
      'base 1000 on an empty ring and a first start at 100 refused' % (len(sent), time.monotonic() - t0, b1, b2, ends))
