"""Accept TCP connections on the given ports (IPv4 and IPv6) and close them, and
echo UDP datagrams on the same ports.

Runs inside one lab namespace so that probes see "open" where the firewall
lets a connection through, instead of a refusal that looks like success."""

import selectors
import socket
import sys


def main(ports):
    sel = selectors.DefaultSelector()
    for port in ports:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", port))
        sock.listen(128)
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ)
        udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        udp.bind(("::", port))
        udp.setblocking(False)
        sel.register(udp, selectors.EVENT_READ)
    while True:
        for key, _events in sel.select():
            try:
                if key.fileobj.type == socket.SOCK_DGRAM:
                    data, peer = key.fileobj.recvfrom(2048)
                    key.fileobj.sendto(data, peer)
                else:
                    conn, _peer = key.fileobj.accept()
                    conn.close()
            except OSError:
                pass


if __name__ == "__main__":
    main([int(p) for p in sys.argv[1:]])
