"""The conductor's side of the render nodes: a small TCP server of the scene's state.

:meth:`SnapshotServer.publish` is called by the show's visual sink with each
snapshot it makes (the same ones the local visuals process gets); it only keeps the
newest and wakes the senders, so the show never waits for the network. Each
connected node has a sender thread that sends it a ``hello``, the whole state at
once, then what changed (newest first: a node that lags skips snapshots, never
beats, as trigger counts are cumulative), and the current state every
``HEARTBEAT_S`` when nothing changes (a node that hears nothing for a second knows
the conductor is gone). A reader thread answers the node's pings at once and
notes what they say: the node's tile and the newest snapshot it drew, so that
:meth:`SnapshotServer.node_status` lists each node with how far behind it is (the
operator console shows it; preflight lists the nodes waiting for the show).

It binds to ``host`` only (``127.0.0.1`` unless the show file opens it) and, when
``allow`` is given, closes any connection from another address; on loopback only
loopback peers are accepted. A node that vanishes is logged once and dropped.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from installation.status import OperatorStatus, RenderNodeStatus
from installation.visuals.feed import Snapshot
from installation.visuals.scene_clock import SceneClock
from installation.visuals.wire import StateEncoder, hello_line, parse_line, pong_line, WireError

log = logging.getLogger(__name__)

DEFAULT_PORT = 7420
HEARTBEAT_S = 0.25  # the newest state again when nothing changed (a node's sign of life)
KEYFRAME_S = 2.0  # the whole state again, now and then
SEND_TIMEOUT_S = 2.0  # a node that takes no bytes for this long is dropped
MAX_NODES = 32


@dataclass(slots=True)
class NodeStats:
    """One connected node's figures."""

    address: str
    lines: int = 0
    bytes_sent: int = 0
    connected_s: float = field(default_factory=time.perf_counter)
    tile: str = ""  # from its pings
    behind: int = -1  # snapshots published that it had not applied, at its last ping


class SnapshotServer:
    """Serves the show's snapshots to render nodes (``ecosymphony visuals --from``).

    Parameters
    ----------
    host, port : str, int
        Where to listen (``127.0.0.1``: this machine only; ``0.0.0.0``: every network).
    wearers : list of str
        The scene's slots (sent to each node, which lays out the same organisms).
    title : str
        The show's title (a node's window title).
    flash_limit, max_flashes_per_s : bool, float
        The show's flash guard settings (each node guards its own picture with them).
    allow : list of str, optional
        Node addresses accepted (default: loopback only when bound to loopback, else any).
    clock : callable
        The show's clock, seconds (monotonic; snapshots are stamped with it).
    """

    def __init__(self, host: str, port: int, wearers: list[str], title: str = "Eco-Symphony",
                 flash_limit: bool = True, max_flashes_per_s: float = 3.0, allow: list[str] | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.host, self.port = host, port
        self.wearers = list(wearers)
        self.title = title
        self.flash_limit, self.max_flashes_per_s = flash_limit, max_flashes_per_s
        self.allow = set(allow) if allow is not None else None
        self.clock = clock
        self.session = os.urandom(6).hex()
        self.seq = 0
        self.refused = 0
        self.nodes: dict[int, NodeStats] = {}
        self._epoch_s = clock()
        self._scene_clock = SceneClock()
        self._snapshot = Snapshot(self._epoch_s)
        self._status: OperatorStatus | None = None
        self._status_seq = 0
        self._blackout = False
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._next_id = 0
        self.publish_s = 0.0  # CPU time spent in publish() (the show's thread), seconds
        self.thread_cpu_s = 0.0  # CPU time of the ended node threads (encoding, sending, pongs), seconds
        self._cpu_lock = threading.Lock()
        self._conns: dict[int, socket.socket] = {}

    # ---- the show's side (never blocks) -------------------------------------------------
    def publish(self, snapshot: Snapshot) -> None:
        """Take the newest snapshot (the caller keeps no reference to change it)."""
        started = time.thread_time()
        with self._cond:
            self.seq += 1
            if snapshot.scene_clock is not None:  # the show's clock, which its own window follows too
                self._scene_clock = snapshot.scene_clock
            else:
                self._scene_clock = self._scene_clock.steer(snapshot.stamp_s - self._epoch_s,
                                                            snapshot.values.get("drift", math.nan))
            self._snapshot = snapshot
            if snapshot.status is not None:
                self._status, self._status_seq = snapshot.status, self._status_seq + 1
            self._cond.notify_all()
        self.publish_s += time.thread_time() - started

    def blackout(self, on: bool) -> None:
        """The operator's blackout, for every node."""
        with self._cond:
            self._blackout = on
            self.seq += 1  # the same state again, sent at once
            now_s = self.clock()
            # the reading moved on to the new stamp (a line's clock is read at its snapshot's stamp)
            self._scene_clock = self._scene_clock.at(self._scene_clock.time_s + now_s - self._snapshot.stamp_s)
            self._snapshot = Snapshot(now_s, self._snapshot.values, self._snapshot.trigger_counts,
                                      self._snapshot.trigger_values, self._snapshot.trigger_stamps, None,
                                      self._scene_clock)
            self._cond.notify_all()

    def node_status(self) -> list[RenderNodeStatus]:
        """The connected nodes, in the order they joined (any thread)."""
        now_s = time.perf_counter()
        return [RenderNodeStatus(n.address, n.tile, n.behind, now_s - n.connected_s)
                for _, n in sorted(list(self.nodes.items()))]

    # ---- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Listen and accept nodes (raises OSError when the address cannot be bound)."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(8)
        sock.settimeout(0.2)
        self.port = sock.getsockname()[1]
        self._listener = sock
        t = threading.Thread(target=self._accept_loop, name="render-nodes", daemon=True)
        t.start()
        self._threads.append(t)
        log.info("render nodes: serving the scene on %s:%d", self.host, self.port)

    def close(self) -> None:
        """Stop serving: the nodes see the conductor go (and fade to their idle look)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._listener is not None:
            self._listener.close()
        for conn in list(self._conns.values()):  # wakes their threads
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=1.0)

    # ---- threads ----------------------------------------------------------------------------
    def _allowed(self, address: str) -> bool:
        if self.allow is not None:
            return address in self.allow
        if self.host.startswith("127.") or self.host == "::1":
            return address.startswith("127.") or address == "::1"
        return True

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                conn, peer = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                if not self._stop.is_set():
                    log.warning("render nodes: the listening socket failed; no more nodes can join")
                return
            address = peer[0]
            if not self._allowed(address) or len(self.nodes) >= MAX_NODES:
                self.refused += 1
                if self.refused in (1, 10, 100):
                    log.warning("render nodes: refused a node at %s (%s)", address,
                                "not in visual.serve_allow" if not self._allowed(address) else f"already {MAX_NODES} nodes")
                conn.close()
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(SEND_TIMEOUT_S)
            node_id = self._next_id
            self._next_id += 1
            self.nodes[node_id] = NodeStats(address)
            self._conns[node_id] = conn
            lock = threading.Lock()
            gone = threading.Event()
            self._threads = [t for t in self._threads if t.is_alive()]
            for target in (self._send_loop, self._read_loop):
                t = threading.Thread(target=self._timed, args=(target, node_id, conn, lock, gone), daemon=True,
                                     name=f"render-node-{node_id}")
                t.start()
                self._threads.append(t)
            log.info("render nodes: %s joined", address)

    def _timed(self, target: Callable[..., None], *args: object) -> None:
        started = time.thread_time()
        try:
            target(*args)
        finally:
            with self._cpu_lock:
                self.thread_cpu_s += time.thread_time() - started

    def _send(self, conn: socket.socket, lock: threading.Lock, data: bytes) -> None:
        with lock:
            conn.sendall(data)

    def _send_loop(self, node_id: int, conn: socket.socket, lock: threading.Lock, gone: threading.Event) -> None:
        stats = self.nodes[node_id]
        encoder = StateEncoder()
        sent_seq, sent_status, last_key_s = -1, 0, -math.inf
        try:
            self._send(conn, lock, hello_line(self.session, self.wearers, self.title, self.flash_limit,
                                              self.max_flashes_per_s))
            while not self._stop.is_set() and not gone.is_set():
                with self._cond:
                    if self.seq == sent_seq:
                        self._cond.wait(HEARTBEAT_S)
                    seq, snapshot, blackout = self.seq, self._snapshot, self._blackout
                    status, status_seq = self._status, self._status_seq
                    scene_clock = self._scene_clock
                if self._stop.is_set():
                    break
                now_s = self.clock()
                key = now_s - last_key_s >= KEYFRAME_S
                if key:
                    last_key_s = now_s
                line = encoder.encode(seq, snapshot, scene_clock, now_s, key, blackout,
                                      status if status_seq != sent_status else None)
                self._send(conn, lock, line)
                sent_seq, sent_status = seq, status_seq
                stats.lines += 1
                stats.bytes_sent += len(line)
        except OSError as exc:
            if not self._stop.is_set():
                log.warning("render nodes: %s left (%s)", stats.address, exc.strerror or type(exc).__name__)
        finally:
            gone.set()
            self.nodes.pop(node_id, None)
            self._conns.pop(node_id, None)
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _read_loop(self, node_id: int, conn: socket.socket, lock: threading.Lock, gone: threading.Event) -> None:
        buffer = b""
        while not self._stop.is_set() and not gone.is_set():
            try:
                chunk = conn.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                try:
                    message = parse_line(line)
                except WireError:
                    continue
                if message["type"] == "ping":
                    stats = self.nodes.get(node_id)
                    if stats is not None:
                        if isinstance(message.get("tile"), str):
                            stats.tile = message["tile"][:16]
                        if isinstance(message.get("seq"), int) and message["seq"] >= 0:
                            stats.behind = max(0, self.seq - message["seq"])
                    try:
                        self._send(conn, lock, pong_line(float(message.get("t", 0.0)), self.clock()))
                    except OSError:
                        break
            if len(buffer) > 65536:
                break  # not a node
        gone.set()
        with self._cond:
            self._cond.notify_all()
