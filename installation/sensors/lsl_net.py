"""Lab Streaming Layer's network settings for this process: scope, listen address, known peers.

liblsl reads one configuration (``lsl_api.cfg``) the first time it is used: the
content or file set through ``lsl_set_config_content`` / ``lsl_set_config_filename``
(pylsl's :func:`pylsl.set_config_filename`), else the file named by the
``LSLAPICFG`` environment variable, else ``lsl_api.cfg`` in the working folder,
the home folder and ``/etc/lsl_api``. :func:`apply` writes the file from a show's
or hub's ``[lsl]`` table and names it both ways, before any stream is made, so
nobody edits LSL's file by hand and a stray file in the working folder is not read.

What the settings do (liblsl's ``api_config``):

- ``ResolveScope``: the multicast groups and hop limit of discovery. ``machine``
  answers only queries from this machine; ``link`` the local subnet (TTL 1);
  ``site`` routed subnets of a site (TTL 24).
- ``ListenAddress``: the address liblsl binds its multicast discovery responders to:
  ``127.0.0.1`` with ``machine`` scope (other machines' discovery waves are then not
  heard; without it a machine-scope hub answered them), or an interface's own address.
  It does not bind the outlets' data ports: liblsl binds those on every interface
  whatever the settings (measured with ``ss -ltn``), so a machine that knows a hub's
  address and asks it directly (``KnownPeers``) still finds and reads its streams.
- ``KnownPeers``: hosts asked directly (unicast) on every resolve, for peers
  beyond the multicast's reach (other subnets, VLANs, Wi-Fi that drops multicast).
- ``SessionID``: streams are only seen by processes with the same session id.

It does not authenticate nor encrypt: whoever can reach an open stream's ports can
read it. Keep a hub's streams on loopback, or on a network that only the show's
machines share.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from pathlib import Path
from typing import Literal, Sequence

#: Discovery scopes liblsl knows, narrowest first.
Scope = Literal["machine", "link", "site"]

_applied: str | None = None
#: Ports from liblsl's base port (16572) that outlets take and that a ``KnownPeers`` query covers:
#: a hub of 32 wearers publishes up to 96 streams (liblsl's default range is 32).
PORT_RANGE = 128


def api_config_text(scope: Scope = "machine", listen: str = "127.0.0.1", known_peers: Sequence[str] = (),
                    session_id: str = "default", port_range: int = PORT_RANGE) -> str:
    """The ``lsl_api.cfg`` text of these settings (pure).

    Parameters
    ----------
    scope : {"machine", "link", "site"}
        Discovery scope.
    listen : str
        Address the outlets bind to; ``0.0.0.0`` binds every interface.
    known_peers : sequence of str
        Host names or addresses asked directly on every resolve.
    session_id : str
        LSL session id (streams of other sessions are not seen).
    port_range : int
        Ports from 16572 the outlets take (one a stream) and unicast discovery asks.
    """
    lines = ["[ports]"]
    ipv4 = ":" not in listen
    lines.append("IPv6 = disable" if ipv4 else "IPv6 = force")
    lines.append(f"PortRange = {port_range}")  # a hub's streams take a port each; KnownPeers are asked on all of them
    lines += ["", "[multicast]", f"ResolveScope = {scope}"]
    if scope == "machine" or listen not in ("0.0.0.0", "::", "127.0.0.1", "::1"):
        # liblsl binds its multicast responders there: on loopback, other machines' discovery
        # waves are not heard (without it a machine-scope hub answered them: tested)
        lines.append(f"ListenAddress = {listen}")
    lab = ([f"SessionID = {session_id}"] if session_id != "default" else []) + (
        ["KnownPeers = {" + ", ".join(known_peers) + "}"] if known_peers else [])
    if lab:  # (an empty [lab], or the default session written out, slowed the first continuous resolve to ~3.5 s here)
        lines += ["", "[lab]", *lab]
    # a stalled connection looked at every second; the clock offset of a new stream measured in ~0.2 s;
    # a discovery wave every 0.2 s (default 0.5), so that a hub that comes back is heard within 2 s
    lines += ["", "[tuning]", "WatchdogCheckInterval = 1.0", "TimeProbeInterval = 0.02", "ContinuousResolveInterval = 0.2", ""]
    return "\n".join(lines)


def check_listen(address: str) -> str:
    """``address`` if it is an IP address, else ValueError naming what to give."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise ValueError("not an IP address (127.0.0.1 keeps streams on this machine, 0.0.0.0 opens every interface)") from None
    return address


def apply(scope: Scope = "machine", listen: str = "127.0.0.1", known_peers: Sequence[str] = (),
          session_id: str = "default", port_range: int = PORT_RANGE, folder: Path | None = None) -> Path:
    """Write the settings to a file and make this process's liblsl read it (before its first use).

    The file's path is also put in ``LSLAPICFG``, so child processes read it too.
    Returns the file's path. Calling it again with other settings after liblsl has
    started changes nothing in this process (liblsl reads its configuration once).
    """
    global _applied
    text = api_config_text(scope, listen, known_peers, session_id, port_range)
    where = folder or Path(tempfile.gettempdir())
    where.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="ecosymphony-lsl-", suffix=".cfg", dir=where)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.environ["LSLAPICFG"] = name
    import pylsl

    if _applied is None:
        pylsl.set_config_filename(name)
    _applied = text
    return Path(name)


def applied() -> str | None:
    """The settings text this process applied, if any."""
    return _applied
