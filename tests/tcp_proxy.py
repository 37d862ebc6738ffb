"""A loopback TCP proxy for fault injection: cut every connection now, cut the next connection that sends or
receives data after a chosen number of bytes, or delay all traffic (a lagging replication link)."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from dataclasses import dataclass


@dataclass
class Cut:
    """One-shot: the next connection to move `after` more bytes in `direction` is closed at that point
    ('up': client to server, the rest of the request is not sent; 'down': server to client, the reply is not
    delivered)."""

    direction: str
    after: int = 0


class TcpProxy:
    """Forwards 127.0.0.1:<port> to `target`; `delay_s` holds back every chunk in both directions."""

    def __init__(self, target_host: str, target_port: int, *, delay_s: float = 0.0) -> None:
        self.target = (target_host, target_port)
        self.delay_s = delay_s
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._cut: Cut | None = None
        self._cut_done = threading.Event()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="tcp-proxy-accept").start()

    # -- controls ------------------------------------------------------------------------------------------
    def cut_all(self) -> None:
        """Close every live connection (clients reconnect through the proxy)."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            _close(*pair)

    def arm(self, cut: Cut) -> None:
        with self._lock:
            self._cut = cut
            self._cut_done.clear()

    def fired(self) -> bool:
        return self._cut_done.is_set()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        self.cut_all()

    # -- plumbing --------------------------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._pairs.append((client, server))
            for source, sink, direction in ((client, server, "up"), (server, client, "down")):
                threading.Thread(target=self._pump, args=(source, sink, direction, client, server), daemon=True).start()

    def _take_cut(self, direction: str, size: int) -> int | None:
        """If an armed cut applies to `size` bytes moving in `direction`, disarm it and say how many to pass."""
        with self._lock:
            cut = self._cut
            if cut is None or cut.direction != direction:
                return None
            if cut.after >= size:
                cut.after -= size
                return None
            self._cut = None
        self._cut_done.set()
        return cut.after

    def _pump(self, source, sink, direction, client, server) -> None:
        chunks: queue.Queue = queue.Queue()
        if self.delay_s:
            threading.Thread(target=self._delayed_writer, args=(chunks, sink, client, server), daemon=True).start()
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            passed = self._take_cut(direction, len(data))
            if passed is not None:
                with contextlib.suppress(OSError):
                    if passed:
                        sink.sendall(data[:passed])
                break
            if self.delay_s:
                chunks.put((time.monotonic() + self.delay_s, data))
                continue
            try:
                sink.sendall(data)
            except OSError:
                break
        if self.delay_s:
            chunks.put(None)
        else:
            _close(client, server)

    def _delayed_writer(self, chunks: queue.Queue, sink, client, server) -> None:
        while True:
            item = chunks.get()
            if item is None:
                break
            due, data = item
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                sink.sendall(data)
            except OSError:
                break
        _close(client, server)


def _close(*socks: socket.socket) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()
