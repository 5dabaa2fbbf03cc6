# tests/uml/vufront.py - the vhost-user front-end side of the uml stage's
# Python tests (dirty-log.py, restart.py): messages over the back-end's
# UNIX socket, guest memory in a memfd, and split virtqueues driven as a
# virtio driver would drive them.  Each failed check ends the test with
# exit status 1 and one line naming it.
import mmap
import os
import select
import socket
import struct
import sys
import time

GPA, SIZE = 0x100000, 16 << 20
PAGE = 4096
F_MAC, F_CTRL_VQ, F_LOG_ALL, F_PROTOCOL, F_VERSION_1 = 5, 17, 26, 30, 32
P_LOG_SHMFD, P_REPLY_ACK = 1, 3
(GET_FEATURES, SET_FEATURES, SET_OWNER, SET_MEM_TABLE, SET_LOG_BASE,
 SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE,
 SET_VRING_KICK, SET_VRING_CALL, GET_PROTOCOL_FEATURES,
 SET_PROTOCOL_FEATURES, SET_VRING_ENABLE) = (1, 2, 3, 5, 6, 8, 9, 10, 11,
                                              12, 13, 15, 16, 18)
DESC_F_NEXT, DESC_F_WRITE = 1, 2

name = 'vufront'


def fail(why):
    print('%s: FAIL: %s' % (name, why))
    sys.exit(1)


def u64(v):
    return struct.pack('<Q', v)


class Conn:
    """One vhost-user connection (the front-end's end)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.s.settimeout(10)  # a hang guard

    def send(self, req, payload=b'', fds=(), reply=False):
        m = struct.pack('<III', req, 1 | (8 if reply else 0), len(payload)) + payload
        if fds:
            socket.send_fds(self.s, [m], list(fds))
        else:
            self.s.sendall(m)
        if reply:
            return self.recv()

    def recv(self, what='a reply'):
        h = self._read(12, what)
        _, _, size = struct.unpack('<III', h)
        return self._read(size, what)

    def _read(self, n, what):
        b = b''
        while len(b) < n:
            try:
                c = self.s.recv(n - len(b))
            except OSError as e:
                fail('the connection failed waiting for %s: %s' % (what, e))
            if not c:
                fail('the back-end closed the connection waiting for %s' % what)
            b += c
        return b

    def ack(self, req, payload=b'', fds=()):
        r = self.send(req, payload, fds, reply=True)
        if struct.unpack('<Q', r)[0] != 0:
            fail('request %d answered %r' % (req, r))

    def get_u64(self, req):
        self.send(req)
        return struct.unpack('<Q', self.recv())[0]

    def settle(self):
        # The back-end relays the rings after each message it handles: once
        # a second message is answered, buffers posted before the first are
        # on the device.
        for _ in range(2):
            self.get_u64(GET_FEATURES)

    def closed(self, timeout=5):
        """Whether the back-end closes the connection within timeout s."""
        self.s.settimeout(timeout)
        try:
            while True:
                if not self.s.recv(4096):
                    return True
        except socket.timeout:
            return False
        except OSError:
            return True


class Memory:
    """Guest memory: one memfd region at GPA."""

    def __init__(self):
        self.fd = os.memfd_create('guest')
        os.ftruncate(self.fd, SIZE)
        self.ram = mmap.mmap(self.fd, SIZE)

    def table(self, conn):
        conn.ack(SET_MEM_TABLE, struct.pack('<II', 1, 0) +
                 struct.pack('<QQQQ', GPA, SIZE, GPA, 0) + bytes(32), [self.fd])

    def read(self, gpa, n):
        return bytes(self.ram[gpa - GPA:gpa - GPA + n])

    def write(self, gpa, b):
        self.ram[gpa - GPA:gpa - GPA + len(b)] = b

    def r16(self, gpa):
        return struct.unpack('<H', self.read(gpa, 2))[0]

    def w16(self, gpa, v):
        self.write(gpa, struct.pack('<H', v & 0xffff))


class Vring:
    """A split virtqueue as the driver sees it.  Descriptors are used one
    slot per avail position (slot = position % num, width descriptors
    each), so at most num chains may be outstanding; avail and used are
    free-running 16-bit indexes."""

    def __init__(self, mem, q, num, width=1):
        self.mem, self.q, self.num, self.width = mem, q, num, width
        base = GPA + 0x10000 * (q + 1)
        self.desc, self.avail, self.used = base, base + 0x2000, base + 0x4000
        self.avail_idx = self.used_seen = 0
        self.kick = self.call = None

    def set_idx(self, idx):
        """A driver that stopped at idx: both rings' idx fields there."""
        self.avail_idx = self.used_seen = idx & 0xffff
        self.mem.w16(self.avail + 2, idx)
        self.mem.w16(self.used + 2, idx)

    def start(self, conn, base):
        """The rings set up as QEMU's vhost_virtqueue_start does, then
        enabled: NUM, BASE, ADDR, KICK, CALL, ENABLE (new eventfds)."""
        for fd in (self.kick, self.call):
            if fd is not None:
                os.close(fd)
        self.kick = os.eventfd(0, os.EFD_NONBLOCK)
        self.call = os.eventfd(0, os.EFD_NONBLOCK)
        conn.ack(SET_VRING_NUM, struct.pack('<II', self.q, self.num))
        conn.ack(SET_VRING_BASE, struct.pack('<II', self.q, base))
        conn.ack(SET_VRING_ADDR, struct.pack('<IIQQQQ', self.q, 0, self.desc,
                                             self.used, self.avail, 0))
        conn.ack(SET_VRING_KICK, u64(self.q), [self.kick])
        conn.ack(SET_VRING_CALL, u64(self.q), [self.call])
        conn.ack(SET_VRING_ENABLE, struct.pack('<II', self.q, 1))

    def stop(self, conn):
        """GET_VRING_BASE: the position the back-end reports."""
        r = conn.send(GET_VRING_BASE, struct.pack('<II', self.q, 0), reply=True)
        q, base = struct.unpack('<II', r)
        if q != self.q:
            fail('GET_VRING_BASE of vring %d answered for vring %d' % (self.q, q))
        return base

    def post(self, bufs, kick=True):
        """Make one chain available: bufs is [(gpa, len, writable)]; returns
        the head descriptor."""
        head = (self.avail_idx % self.num) * self.width
        for k, (gpa, ln, w) in enumerate(bufs):
            flags = (DESC_F_WRITE if w else 0) | (DESC_F_NEXT if k + 1 < len(bufs) else 0)
            self.mem.write(self.desc + 16 * (head + k),
                           struct.pack('<QIHH', gpa, ln, flags, head + k + 1))
        self.mem.w16(self.avail + 4 + 2 * (self.avail_idx % self.num), head)
        self.avail_idx = (self.avail_idx + 1) & 0xffff
        self.mem.w16(self.avail + 2, self.avail_idx)
        if kick:
            os.eventfd_write(self.kick, 1)
        return head

    def used_idx(self):
        return self.mem.r16(self.used + 2)

    def take_used(self, n, timeout=10):
        """Wait for n more used entries; [(id, len)] in ring order."""
        end = time.monotonic() + timeout  # a hang guard
        while ((self.used_idx() - self.used_seen) & 0xffff) < n:
            if time.monotonic() > end:
                fail('vring %d: %d used entries expected after %d, used idx is '
                     '%d' % (self.q, n, self.used_seen, self.used_idx()))
            if select.select([self.call], [], [], 0.05)[0]:
                os.eventfd_read(self.call)
        out = []
        for _ in range(n):
            e = self.used + 4 + 8 * (self.used_seen % self.num)
            out.append(struct.unpack('<II', self.mem.read(e, 8)))
            self.used_seen = (self.used_seen + 1) & 0xffff
        return out
