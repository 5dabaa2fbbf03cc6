#!/usr/bin/env python3
# tests/uml/bad-frontend.py SOCKET - a misbehaving vhost-user front-end
# against examples/vhost-user-net (tests/uml/run.sh runs it before UML
# boots): each case opens a connection, sends malformed or out-of-order
# messages, and the back-end must close that connection (and stay up for
# the next one; run.sh checks that it is still running and logged why).
# Prints one line per case; exits 1 if a connection stayed open.
import os
import socket
import struct
import sys

path = sys.argv[1]


def u64(v):
    return struct.pack('<Q', v)


def state(i, n):
    return struct.pack('<II', i, n)


def region(size, fd_size=None):
    fd = os.memfd_create('guest')
    os.ftruncate(fd, size if fd_size is None else fd_size)
    body = struct.pack('<II', 1, 0) + struct.pack('<QQQQ', 0x100000, size, 0x100000, 0)
    return body, fd


def send(s, req, payload=b'', fds=(), flags=1, size=None):
    m = struct.pack('<III', req, flags, len(payload) if size is None else size) + payload
    if fds:
        socket.send_fds(s, [m], list(fds))
    else:
        s.sendall(m)


def mem(s, size=1 << 20, fd_size=None):
    body, fd = region(size, fd_size)
    send(s, 5, body, fds=[fd])
    os.close(fd)


cases = [
    ('version 2', lambda s: send(s, 3, flags=2)),
    ('a reply as request', lambda s: send(s, 3, flags=5)),
    ('payload of 1 GiB', lambda s: send(s, 3, size=1 << 30)),
    ('unknown request 77', lambda s: (send(s, 3), send(s, 77))),
    ('SET_VRING_NUM before SET_OWNER', lambda s: send(s, 8, state(0, 256))),
    ('SET_OWNER twice', lambda s: (send(s, 3), send(s, 3))),
    ('features not offered', lambda s: (send(s, 3), send(s, 2, u64(1 << 63)))),
    ('SET_MEM_TABLE without its fd', lambda s: (send(s, 3), send(s, 5, region(1 << 20)[0]))),
    ('SET_MEM_TABLE, 9 regions', lambda s: (send(s, 3), send(s, 5, struct.pack('<II', 9, 0) + bytes(9 * 32)))),
    ('region beyond its file', lambda s: (send(s, 3), mem(s, 1 << 20, 4096))),
    ('fd on SET_OWNER', lambda s: send(s, 3, fds=[os.memfd_create('x')])),
    ('vring address outside memory', lambda s: (
        send(s, 3), send(s, 2, u64(1 << 32)), mem(s), send(s, 8, state(0, 256)),
        send(s, 9, struct.pack('<IIQQQQ', 0, 0, 0x900000, 0x902000, 0x901000, 0)))),
    ('SET_VRING_ADDR before SET_MEM_TABLE', lambda s: (
        send(s, 3), send(s, 8, state(0, 256)),
        send(s, 9, struct.pack('<IIQQQQ', 0, 0, 0x100000, 0x102000, 0x101000, 0)))),
    ('ring size 1000', lambda s: (send(s, 3), send(s, 8, state(0, 1000)))),
    ('vring index 200', lambda s: (send(s, 3), send(s, 10, state(200, 0)))),
    ('kick with unknown bits', lambda s: (send(s, 3), send(s, 12, u64(1 << 20)))),
    ('GET_CONFIG without the CONFIG feature', lambda s: (
        send(s, 3), send(s, 24, struct.pack('<III', 0, 24, 0) + bytes(24)))),
    ('GET_CONFIG past 256 bytes', lambda s: (
        send(s, 3), send(s, 16, u64(1 << 9)), send(s, 24, struct.pack('<III', 250, 24, 0) + bytes(24)))),
    ('enable of a ring not set up', lambda s: (send(s, 3), send(s, 2, u64(1 << 30)), send(s, 18, state(0, 1)))),
    ('dirty logging', lambda s: (send(s, 3), send(s, 6, bytes(16), fds=[os.memfd_create('log')]))),
    ('payload cut short', lambda s: (send(s, 3), send(s, 2, b'\x01\x02', size=8), s.shutdown(socket.SHUT_WR))),
]

bad = 0
for name, act in cases:
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    try:
        act(s)
    except OSError:
        pass  # the back-end may close before everything is sent
    s.settimeout(10)  # a hang guard
    try:
        closed = s.recv(4096) == b''
    except socket.timeout:
        closed = False
    except OSError:
        closed = True
    s.close()
    print('bad-frontend: %-40s %s' % (name, 'closed' if closed else 'STILL OPEN'))
    bad += not closed
print('bad-frontend: %d cases, %d connections left open' % (len(cases), bad))
sys.exit(1 if bad else 0)
