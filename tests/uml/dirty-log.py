#!/usr/bin/env python3
# tests/uml/dirty-log.py SOCKET - a vhost-user front-end with a toy
# virtio-net driver in Python, against examples/vhost-user-net started
# with --pairs 1: it negotiates LOG_ALL and LOG_SHMFD, hands over a dirty
# bitmap with SET_LOG_BASE, posts receive buffers, sends frames through
# the device's loopback and checks the bitmap: the pages the device wrote
# (the receive buffer, the used rings) are marked, pages it only read
# (the transmitted frame) or never touched are not, and with LOG_ALL
# switched off again a new receive buffer is not marked.  Exits 1 naming
# the first failed check.
import mmap
import os
import select
import socket
import struct
import sys
import time

GPA, SIZE, NUM = 0x100000, 16 << 20, 256
PAGE = 4096
F_LOG_ALL, F_PROTOCOL, F_VERSION_1 = 26, 30, 32
P_LOG_SHMFD, P_REPLY_ACK = 1, 3
MAC = bytes.fromhex('525400564401')

s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(10)  # a hang guard


def fail(why):
    print('dirty-log: FAIL:', why)
    sys.exit(1)


def send(req, payload=b'', fds=(), reply=False):
    flags = 1 | (8 if reply else 0)
    m = struct.pack('<III', req, flags, len(payload)) + payload
    if fds:
        socket.send_fds(s, [m], list(fds))
    else:
        s.sendall(m)
    if reply:
        return recv()


def recv():
    h = b''
    while len(h) < 12:
        c = s.recv(12 - len(h))
        if not c:
            fail('the back-end closed the connection')
        h += c
    req, flags, size = struct.unpack('<III', h)
    p = b''
    while len(p) < size:
        p += s.recv(size - len(p))
    return p


def u64(v):
    return struct.pack('<Q', v)


def ack(req, payload=b'', fds=()):
    r = send(req, payload, fds, reply=True)
    if struct.unpack('<Q', r)[0] != 0:
        fail('request %d answered %r' % (req, r))


send(3)
send(1)
offered = struct.unpack('<Q', recv())[0]
if not offered & (1 << F_LOG_ALL):
    fail('LOG_ALL not offered')
send(15)
pf = struct.unpack('<Q', recv())[0]
if not pf & (1 << P_LOG_SHMFD):
    fail('LOG_SHMFD not offered')
send(16, u64((1 << P_LOG_SHMFD) | (1 << P_REPLY_ACK)))
# MAC as a driver would (without it the handle tracks MAC 0 while the
# simulated device keeps its configuration MAC: the back-end reports
# that as a state disagreement).
features = (1 << F_VERSION_1) | (1 << F_PROTOCOL) | (1 << 5)
ack(2, u64(features | (1 << F_LOG_ALL)))

memfd = os.memfd_create('guest')
os.ftruncate(memfd, SIZE)
ram = mmap.mmap(memfd, SIZE)
ack(5, struct.pack('<II', 1, 0) + struct.pack('<QQQQ', GPA, SIZE, GPA, 0) + bytes(32),
    [memfd])

logbytes = ((GPA + SIZE) // PAGE + 63) // 64 * 8
logfd = os.memfd_create('log')
os.ftruncate(logfd, logbytes)
log = mmap.mmap(logfd, logbytes)
send(6, u64(logbytes) + u64(0), [logfd])
r = recv()  # a reply of its own, REPLY_ACK or not
if struct.unpack('<Q', r)[0] != 0:
    fail('SET_LOG_BASE answered %r' % r)


def ring(q):
    base = GPA + 0x10000 * (q + 1)
    return base, base + 0x1000, base + 0x2000  # desc, avail, used


kick, call = [], []
for q in (0, 1):
    d, a, u = ring(q)
    call.append(os.eventfd(0, os.EFD_NONBLOCK))
    ack(13, u64(q), [call[q]])
    ack(8, struct.pack('<II', q, NUM))
    ack(10, struct.pack('<II', q, 0))
    ack(9, struct.pack('<IIQQQQ', q, 1, d, u, a, u))  # flags: log the used ring
for q in (0, 1):
    kick.append(os.eventfd(0, os.EFD_NONBLOCK))
    ack(12, u64(q), [kick[q]])
    ack(18, struct.pack('<II', q, 1))

avail_idx = [0, 0]


def off(gpa):
    return gpa - GPA


def post(q, gpa, length, write):
    d, a, u = ring(q)
    i = avail_idx[q] % NUM
    ram[off(d) + 16 * i:off(d) + 16 * i + 16] = struct.pack('<QIHH', gpa, length, 2 if write else 0, 0)
    ram[off(a) + 4 + 2 * i:off(a) + 6 + 2 * i] = struct.pack('<H', i)
    avail_idx[q] += 1
    ram[off(a) + 2:off(a) + 4] = struct.pack('<H', avail_idx[q] & 0xffff)
    os.eventfd_write(kick[q], 1)


def used(q, n):
    d, a, u = ring(q)
    end = time.monotonic() + 10  # a hang guard
    while time.monotonic() < end:
        if struct.unpack('<H', ram[off(u) + 2:off(u) + 4])[0] >= n:
            e = n - 1
            return struct.unpack('<II', ram[off(u) + 4 + 8 * e:off(u) + 12 + 8 * e])
        if select.select([call[q]], [], [], 0.1)[0]:
            os.eventfd_read(call[q])  # drained, or select returns at once
    fail('queue %d: used entry %d never came' % (q, n))


def settle():
    # The back-end relays the rings after each message it handles: once a
    # second message is answered, a receive buffer posted before the first
    # is on the device, and a frame sent now cannot find the ring empty.
    for _ in range(2):
        send(1)
        recv()


def dirty(gpa):
    page = gpa // PAGE
    word = struct.unpack('<Q', log[8 * (page // 64):8 * (page // 64) + 8])[0]
    return bool(word >> (page % 64) & 1)


RX1, TX1, RX2, UNTOUCHED = GPA + 0x100000, GPA + 0x200000, GPA + 0x300000, GPA + 0x400000


def frame(n):
    f = MAC + MAC + b'\x88\xb5' + bytes([n]) * 100
    return bytes(12) + f


# With LOG_ALL: a frame through the loopback.
post(0, RX1, 2048, True)
settle()
f = frame(1)
ram[off(TX1):off(TX1) + len(f)] = f
post(1, TX1, len(f), False)
used(1, 1)
_, ln = used(0, 1)
got = ram[off(RX1):off(RX1) + ln]
if ln != len(f) or got[12:] != f[12:]:
    fail('the frame came back as %d bytes, %d sent' % (ln, len(f)))
checks = [('receive buffer', RX1, True), ('rx used ring', ring(0)[2], True),
          ('tx used ring', ring(1)[2], True), ('transmitted frame', TX1, False),
          ('untouched page', UNTOUCHED, False)]
for name, gpa, want in checks:
    if dirty(gpa) != want:
        fail('%s (gpa 0x%x): dirty %s, %s expected' % (name, gpa, dirty(gpa), want))
marked = sum(bin(b).count('1') for b in log[:])

# LOG_ALL off: nothing more is marked.
ack(2, u64(features))
post(0, RX2, 2048, True)
settle()
f = frame(2)
ram[off(TX1):off(TX1) + len(f)] = f
post(1, TX1, len(f), False)
used(0, 2)
if dirty(RX2):
    fail('receive buffer written with LOG_ALL off is marked')
print('dirty-log: %d pages marked with LOG_ALL on (receive buffer, used rings), '
      'none for read-only or untouched pages, none after LOG_ALL off' % marked)
