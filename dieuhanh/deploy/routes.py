"""Which Synapse process answers which request: the stream writers and the proxy's routes.

The endpoint lists follow Synapse's worker documentation (docs/workers.md, "Available
worker applications" and "Stream writers"), limited to the client API: this deployment
has no federation. Requests not routed here go to the main process, which can answer
everything else (admin API, media, our modules' pages, pagination).
"""

from __future__ import annotations

from dataclasses import dataclass

from dieuhanh.deploy.answers import MAIN, Process

#: Sync traffic: a user's requests should reach the same worker (its caches).
SYNC = (
    r"^/_matrix/client/(r0|v3)/sync$",
    r"^/_matrix/client/(api/v1|r0|v3)/events$",
    r"^/_matrix/client/(api/v1|r0|v3)/initialSync$",
    r"^/_matrix/client/(api/v1|r0|v3)/rooms/[^/]+/initialSync$",
    # Simplified Sliding Sync (MSC4186): Element X's sync, served by generic workers too
    r"^/_matrix/client/unstable/org\.matrix\.simplified_msc3575/.*$",
)

#: Client API any generic worker answers (reads, event creation, login, keys).
CLIENT = (
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/createRoom$",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/publicRooms$",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/joined_members$",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/context/.*$",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/members$",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/state$",
    r"^/_matrix/client/v1/rooms/.*/hierarchy$",
    r"^/_matrix/client/(v1|unstable)/rooms/.*/relations/",
    r"^/_matrix/client/v1/rooms/.*/threads$",
    r"^/_matrix/client/v1/room_summary/.*$",
    r"^/_matrix/client/(r0|v3|unstable)/account/3pid$",
    r"^/_matrix/client/(r0|v3|unstable)/account/whoami$",
    r"^/_matrix/client/(r0|v3|unstable)/account/deactivate$",
    r"^/_matrix/client/(r0|v3)/delete_devices$",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/devices(/|$)",
    r"^/_matrix/client/versions$",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/voip/turnServer$",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/event/",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/joined_rooms$",
    r"^/_matrix/client/v1/rooms/.*/timestamp_to_event$",
    r"^/_matrix/client/(api/v1|r0|v3|unstable/.*)/rooms/.*/aliases",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/search$",
    r"^/_matrix/client/(r0|v3|unstable)/user/.*/filter(/|$)",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/directory/room/.*$",
    r"^/_matrix/client/(r0|v3|unstable)/capabilities$",
    r"^/_matrix/client/(r0|v3|unstable)/notifications$",
    # encryption
    r"^/_matrix/client/(r0|v3|unstable)/keys/query$",
    r"^/_matrix/client/(r0|v3|unstable)/keys/changes$",
    r"^/_matrix/client/(r0|v3|unstable)/keys/claim$",
    r"^/_matrix/client/(r0|v3|unstable)/room_keys/",
    r"^/_matrix/client/(r0|v3|unstable)/keys/upload",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/keys/device_signing/upload$",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/keys/signatures/upload$",
    # login (our phone-login module answers in every process)
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/login$",
    r"^/_matrix/client/(r0|v3|unstable)/register$",
    r"^/_matrix/client/(r0|v3|unstable)/register/available$",
    r"^/_matrix/client/(r0|v3|unstable)/password_policy$",
    # event creation: the worker hands each event to the room's event persister
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/redact",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/send",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/state/",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/(join|invite|leave|ban|unban|kick)$",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/join/",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/knock/",
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/profile/",
)

#: The user directory's search: to the process that updates the directory (any generic
#: worker could answer it; docs/workers.md, "Updating the User Directory").
USER_DIRECTORY = (r"^/_matrix/client/(r0|v3|unstable)/user_directory/search$",)

#: The ``receipts`` stream's endpoints: to one of its writers (every generic worker).
RECEIPTS = (
    r"^/_matrix/client/(r0|v3|unstable)/rooms/.*/receipt",
    r"^/_matrix/client/(r0|v3|unstable)/rooms/.*/read_markers",
)

#: The ``typing`` stream's endpoint: to its single writer (the first generic worker).
TYPING = (r"^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/typing",)

#: The bridge's public pages (the rest of /_dieuhanh/ is our Synapse module's).
BRIDGE_PREFIXES = ("/_dieuhanh/gui-thong-bao", "/_dieuhanh/api/tin-tuc")

#: nginx upstream names.
UPSTREAM_MAIN = "synapse_main"
UPSTREAM_GENERIC = "synapse_generic"
UPSTREAM_TYPING = "synapse_typing"
UPSTREAM_BACKGROUND = "synapse_background"
UPSTREAM_BRIDGE = "dieuhanh_bridge_web"


@dataclass(frozen=True)
class Route:
    pattern: str  # an nginx (PCRE) location regex
    upstream: str


def generic_workers(procs: list[Process]) -> list[Process]:
    return [p for p in procs if p.role == "generic_worker"]


def event_persisters(procs: list[Process]) -> list[Process]:
    return [p for p in procs if p.role == "event_persister"]


def background_worker(procs: list[Process]) -> Process | None:
    return next((p for p in procs if p.role == "background"), None)


def background_duties(procs: list[Process]) -> dict[str, object]:
    """The shared settings that give Synapse's background work to the background worker
    (docs/workers.md: "Background tasks", "Updating the User Directory", "Notifying
    Application Services", "Push Notifications", ``federation_sender_instances``); none
    without one (main does it all).

    Federation sending too: this deployment has no federation, but the sender still goes
    through every new event to find remote servers (≈ 1.7 ms of main's CPU per join).
    Not moved: the media repository's background jobs (media is served by main; with URL
    previews off it has none)."""
    worker = background_worker(procs)
    if worker is None:
        return {}
    return {
        "run_background_tasks_on": worker.name,
        "update_user_directory_from_worker": worker.name,
        "notify_appservices_from_worker": worker.name,
        "pusher_instances": [worker.name],
        "federation_sender_instances": [worker.name],
    }


def stream_writers(procs: list[Process]) -> dict[str, list[str] | str]:
    """Synapse's ``stream_writers``: events sharded over the persisters (by room), receipts
    over the generic workers, typing on the first generic worker; main otherwise."""
    writers: dict[str, list[str] | str] = {}
    persisters = [p.name for p in event_persisters(procs)]
    generic = [p.name for p in generic_workers(procs)]
    if persisters:
        writers["events"] = persisters
    if generic:
        writers["receipts"] = generic
        writers["typing"] = generic[0]
    return writers


def routes(procs: list[Process]) -> list[Route]:
    """The regex routes, in the order nginx must try them (typing first: it has one
    writer; receipts before the catch-all ``/rooms/.*/send``-style patterns). The user
    directory's search goes to the background worker, which updates the directory."""
    out: list[Route] = []
    if background_worker(procs):
        out += [Route(p, UPSTREAM_BACKGROUND) for p in USER_DIRECTORY]
    if not generic_workers(procs):
        return out
    out += [Route(p, UPSTREAM_TYPING) for p in TYPING]
    out += [Route(p, UPSTREAM_GENERIC) for p in (*RECEIPTS, *SYNC, *CLIENT)]
    if not background_worker(procs):
        out += [Route(p, UPSTREAM_GENERIC) for p in USER_DIRECTORY]
    return out


def instance_map(procs: list[Process], host: str) -> dict[str, dict[str, object]]:
    """Every process's replication listener (workers that write streams must be listed,
    and Synapse wants main there too)."""
    return {p.name: {"host": host, "port": p.replication_port} for p in procs}


def main_process(procs: list[Process]) -> Process:
    return next(p for p in procs if p.name == MAIN)
