"""The bot on Matrix (matrix-nio, with end-to-end encryption).

- Logs in once with its password and keeps its device (``session.json``) and its olm
  keys (nio's store) under ``bot.store_path``; a restart restores both.
- Syncs with a token it saves itself, in its own table (``bot.db.state``), only after
  every event of a batch was handled: a restart neither replays nor misses commands.
  Answered events are also recorded, and each reply carries a transaction id derived from
  the command's event id, so even a crash between replying and saving cannot answer twice.
- Never waits on the database on its event loop: every query of ``bot.db`` is a coroutine
  that runs in a worker thread, and so does a reload of the directory.
- On its very first start it answers nothing from before, and asks Synapse for no room
  at all: an initial sync of a city's 28,000 rooms takes Synapse minutes, and the bot
  needs none of it. It learns of a room when something happens there, and reads a
  room's state (members, encryption) only when it must answer or send there
  (``bot.matrix_rooms``).
- Spends nothing on messages it will not answer (most of them: every message in every
  shared room reaches it): no database query for a message in a shared room that is not
  a command.
- Accepts invites only from people in the directory.
- Decrypts commands in encrypted rooms (a DM opened from Element) and answers there, from
  a device cross-signed by the bot's own keys (``bot.crosssigning``), so that Element shows
  no "device not verified by its owner" warning on its replies.
- Holds no server-admin token: it makes people's inbox rooms itself and has our Synapse
  module complete their join (provisioning.matrix.inbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    DownloadError,
    InviteMemberEvent,
    JoinedMembersResponse,
    JoinError,
    LoginError,
    MatrixRoom,
    MegolmEvent,
    MessageDirection,
    ReceiptEvent,
    RoomEncryptedMedia,
    RoomMessageMedia,
    RoomMessagesResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncError,
    SyncResponse,
    UploadResponse,
)
from nio.crypto.attachments import decrypt_attachment
from sqlalchemy import Engine

from bot.commands import Incoming, parse
from bot.config import BotSettings
from bot.crosssigning.server import CrossSigning, password_reauth
from bot.db.draft import Draft
from bot.db.event import AnsweredEvent
from bot.db.family import is_family_account
from bot.db.family_recipient import FamilyRecipient
from bot.db.receipt import Receipt
from bot.db.recipient import Recipient
from bot.db.state import BotState
from bot.directives.cover import NotInRoom
from bot.directives.families import family_display_name, family_inbox_code
from bot.directives.relations import REACTION_HANDLERS, REPLY_HANDLERS, Relation, dispatch
from bot.directives.scheduler import Scheduler
from bot.directives.worker import DeliveryWorker
from bot.matrix_rooms import (
    FIRST_SYNC_FILTER,
    knows_members,
    load_room,
    not_in_room,
    pending_invites,
)
from bot.reply import Reply
from bot.service import BotService
from provisioning.matrix.client import MatrixClient, MatrixError
from provisioning.matrix.inbox import ensure_inbox

log = logging.getLogger(__name__)

SYNC_FILTER = {
    "room": {
        "timeline": {"limit": 50},
        "state": {"lazy_load_members": True},
        "ephemeral": {"types": ["m.receipt"]},
    },
    "presence": {"not_types": ["*"]},
}


ANSWERED_PRIVATELY = (
    "Bot đã trả lời Anh/Chị trong phòng nhắn riêng «Điều hành» (kết quả có thể chứa số điện "
    "thoại và số liệu, nên không hiển thị trong phòng chung)."
)


def _command(msgtype: str, event: Any) -> bool:
    """Whether a message is a command (``!…``): in a shared room, nothing else is answered."""
    return msgtype in ("m.text", "m.notice") and parse(getattr(event, "body", "") or "") is not None


def _txn(kind: str, event_id: str) -> str:
    """A transaction id derived from the command's event: a retry is never sent twice."""
    return f"{kind}-" + hashlib.sha256(event_id.encode()).hexdigest()[:32]


class MatrixBot:
    def __init__(self, config: BotSettings, engine: Engine, service: BotService) -> None:
        self.config = config
        self.engine = engine
        self.service = service
        self.user_id = f"@{config.bot.localpart}:{config.homeserver.server_name}"
        self.store = Path(config.bot.store_path)
        self.store.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.store.chmod(0o700)  # the access token and every private key live here
        self.client = AsyncClient(
            config.homeserver.url,
            self.user_id,
            store_path=str(self.store),
            config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
        )
        self.answered = 0
        self.synced_at: float | None = None  # wall clock of the last handled sync (metrics)
        self.http: MatrixClient | None = None  # the bot's own token, once logged in
        self.worker = DeliveryWorker(
            engine,
            service.directory,
            _Transport(self),
            concurrency=config.bot.delivery_concurrency,
            notify=self.notify,
        )
        service.joined_members = self.joined_members
        service.tell_person = self.tell_person
        service.notify_room = self.notify
        service._on_directive = lambda _id: self.worker.wake.set()
        self.scheduler = Scheduler(
            engine,
            service.directory,
            service.clock,
            interval=config.bot.scheduler_interval_seconds,
            joined_members=self.joined_members,
            wake=self.worker.wake.set,
            notify=self.notify,
            transport=_Transport(self),
            outreach=service.outreach,
        )

    # ------------------------------------------------------------------ session

    @property
    def _session_path(self) -> Path:
        return self.store / "session.json"

    async def login(self, stop: asyncio.Event) -> bool:
        """Restore the saved device, or log in (waiting for provisioning to create us)."""
        if self._session_path.exists():
            saved = json.loads(self._session_path.read_text())
            self.client.restore_login(saved["user_id"], saved["device_id"], saved["access_token"])
            whoami = await self.client.whoami()
            if getattr(whoami, "user_id", None) == self.user_id:
                log.info("restored session of %s (device %s)", self.user_id, saved["device_id"])
                return True
            log.warning("saved session no longer valid; logging in again")
        delay = 1.0
        while not stop.is_set():
            if self._session_path.exists():  # keep the same device (and its keys)
                self.client.device_id = json.loads(self._session_path.read_text())["device_id"]
            response = await self.client.login(
                self.config.bot.password, device_name="Điều hành (bot)"
            )
            if not isinstance(response, LoginError):
                self._save_session()
                log.info("logged in as %s (device %s)", self.user_id, self.client.device_id)
                return True
            log.info("cannot log in yet (%s); waiting for provisioning", response.message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 30)
        return False

    def _save_session(self) -> None:
        data = {
            "user_id": self.client.user_id,
            "device_id": self.client.device_id,
            "access_token": self.client.access_token,
        }
        fd = os.open(self._session_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)

    # ------------------------------------------------------------------ sync loop

    async def run(self, stop: asyncio.Event) -> None:
        if not await self.login(stop):
            return
        self.http = MatrixClient(self.config.homeserver.url, self.client.access_token)
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        await self._cross_sign()
        background = [
            asyncio.create_task(self.worker.run(stop)),
            asyncio.create_task(self.scheduler.run(stop)),
            asyncio.create_task(self._expire_drafts(stop)),
        ]
        try:
            await self._sync_loop(stop)
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)

    async def _sync_loop(self, stop: asyncio.Event) -> None:
        saved = await BotState.get(self.engine, BotState.SYNC_TOKEN)
        token = saved.value if saved else await self._first_sync(stop)
        wait = 0  # the first sync catches up at once: the bot is healthy when it has
        while token is not None and not stop.is_set():
            response = await self._sync(stop, wait, since=token, sync_filter=SYNC_FILTER)
            if response is None:
                break
            if isinstance(response, SyncError):
                log.warning("sync failed: %s", response.message)
                await asyncio.sleep(2)
                continue
            await self._keys()
            await self._invites(response)
            await self._receipts(response)
            await self._messages(response, token)
            token, wait = response.next_batch, 30_000
            await BotState.put(self.engine, BotState.SYNC_TOKEN, token)
            self.synced_at = time.time()

    async def _sync(
        self, stop: asyncio.Event, wait: int, **kwargs: Any
    ) -> SyncResponse | SyncError | None:
        """One sync (long-polling ``wait`` ms), or None once ``stop`` is set."""
        sync = asyncio.create_task(self.client.sync(timeout=wait, **kwargs))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({sync, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if sync not in done:
            sync.cancel()
            return None
        return sync.result()

    async def _first_sync(self, stop: asyncio.Event) -> str | None:
        """The very first start: a sync of no room (its token: nothing older is answered),
        then the invites that came before; the token, or None once ``stop`` is set."""
        log.info("first start: earlier messages will not be answered")
        while not stop.is_set():
            response = await self._sync(stop, 0, sync_filter=FIRST_SYNC_FILTER, full_state=True)
            if response is None:
                return None
            if isinstance(response, SyncError):
                log.warning("sync failed: %s", response.message)
                await asyncio.sleep(2)
                continue
            await self._keys()
            for room_id, inviter in (await pending_invites(self.http, self.user_id)).items():
                await self._invited(room_id, inviter)
            await BotState.put(self.engine, BotState.SYNC_TOKEN, response.next_batch)
            self.synced_at = time.time()
            joined = await self.http.request("GET", "/_matrix/client/v3/joined_rooms")
            # logged once the bot is healthy: tests and operators wait for this line
            log.info("initial sync done: in %d rooms", len(joined.get("joined_rooms", [])))
            return response.next_batch
        return None

    async def _cross_sign(self) -> None:
        """Sign this device with the bot's cross-signing keys, creating them if need be."""
        if self.client.olm is None:
            return
        await CrossSigning(
            self.http,
            user_id=self.user_id,
            device_id=self.client.device_id,
            device_ed25519=self.client.olm.account.identity_keys["ed25519"],
            store=self.store,
            reauth=password_reauth(self.user_id, self.config.bot.password),
        ).ensure()

    async def _keys(self) -> None:
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        if self.client.should_query_keys:
            await self.client.keys_query()
        if self.client.should_claim_keys:
            await self.client.keys_claim(self.client.get_users_for_key_claiming())

    async def _invites(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.invite.items():
            inviter = next(
                (
                    e.sender
                    for e in info.invite_state
                    if isinstance(e, InviteMemberEvent) and e.state_key == self.user_id
                ),
                None,
            )
            await self._invited(room_id, inviter)

    async def _invited(self, room_id: str, inviter: str | None) -> None:
        """Join a room someone in the directory invited us to; decline any other. Someone
        unknown is looked up again in a freshly checked directory before being declined:
        they may have been provisioned since it was last checked."""
        directory = self.service.directory
        snapshot = await directory.get()
        if inviter in snapshot.service_users:
            return  # provisioning force-joins us itself (invite, then join)
        user_id = inviter or ""
        if (
            snapshot.asker(user_id).known
            or await is_family_account(self.engine, user_id)
            or (await directory.recheck()).asker(user_id).known
        ):
            result = await self.client.join(room_id)
            if isinstance(result, JoinError):
                log.warning("could not join %s: %s", room_id, result.message)
            else:
                log.info("joined %s, invited by %s", room_id, inviter)
        else:
            await self.client.room_leave(room_id)
            log.info("declined invite to %s from %s (not in the directory)", room_id, inviter)

    async def _messages(self, response: SyncResponse, since: str | None) -> None:
        for room_id, room in response.rooms.join.items():
            events = list(room.timeline.events)
            log.debug("sync: %d events in %s", len(events), room_id)
            if room.timeline.limited and since:
                events = await self._backfill(room_id, room.timeline.prev_batch, since) + events
            for event in events:
                if getattr(event, "sender", None) == self.user_id:
                    continue
                if isinstance(event, MegolmEvent):
                    log.warning(
                        "cannot decrypt %s in %s; asking for the key", event.event_id, room_id
                    )
                    await self.client.request_room_key(event)
                    continue
                content = event.source.get("content", {})
                relates = content.get("m.relates_to") or {}
                # nio parses a reaction as a ReactionEvent (an UnknownEvent before 0.25)
                if event.source.get("type") == "m.reaction":
                    if relates.get("event_id"):
                        await self._related(room_id, event, relates["event_id"], "reaction")
                    continue
                replied = (relates.get("m.in_reply_to") or {}).get("event_id")
                if replied and await self._related(room_id, event, replied, "reply"):
                    continue
                if isinstance(event, (RoomMessageText, RoomMessageMedia, RoomEncryptedMedia)):
                    await self._answer(room_id, event)

    async def _related(self, room_id: str, event: Any, target: str, how: str) -> bool:
        """A reaction or reply to ``target``: acknowledges a post's copy, then goes to the
        kinds' handlers (``bot.directives.relations``); True when one answered it."""
        now = self.service.clock.now()
        await Recipient.acknowledge(self.engine, room_id, target, event.sender, how, now)
        content = event.source.get("content", {})
        if how == "reply" and str(content.get("body", "")).lstrip().startswith("!"):
            return False  # a command, even as a reply: answered as one
        if await AnsweredEvent.get(self.engine, event.event_id) is not None:
            return True
        relation = Relation(
            self.engine, self.service.directory, room_id, event.event_id, target,
            event.sender, content, now,
        )  # fmt: skip
        handlers = REACTION_HANDLERS if how == "reaction" else REPLY_HANDLERS
        reply = await dispatch(handlers, relation)
        if reply is None:
            return False
        if await self._respond(room_id, event.event_id, event.sender, reply, pointer=False):
            await AnsweredEvent.record(self.engine, room_id, event.event_id)
        return True

    async def _receipts(self, response: SyncResponse) -> None:
        """Public read receipts: "read up to" an event, so also every directive before it."""
        for room_id, room in response.rooms.join.items():
            for event in room.ephemeral:
                if not isinstance(event, ReceiptEvent):
                    continue
                for receipt in event.receipts:
                    if receipt.receipt_type != "m.read" or receipt.user_id == self.user_id:
                        continue
                    await self._read_up_to(
                        room_id, receipt.user_id, receipt.event_id, receipt.timestamp
                    )

    async def _read_up_to(self, room_id: str, user_id: str, event_id: str, ts: int) -> None:
        await Receipt.record(self.engine, room_id, user_id, event_id, ts)
        unread: list[Any] = await Recipient.unread_in_room(self.engine, room_id, user_id)
        unread += await FamilyRecipient.unread_in_room(self.engine, room_id, user_id)
        if not unread:
            return
        target_ts = None
        for row in unread:
            if row.event_id == event_id:
                await self._mark_read(row)
                continue
            if target_ts is None:
                target_ts = await self._event_ts(room_id, event_id)
            sent = row.sent_at
            if target_ts is not None and sent is not None and target_ts >= sent.timestamp() * 1000:
                await self._mark_read(row)

    async def _mark_read(self, row: Recipient | FamilyRecipient) -> None:
        now = self.service.clock.now()
        if isinstance(row, FamilyRecipient):
            await FamilyRecipient.mark_read(
                self.engine, row.directive_id, row.user_id, "receipt", now
            )
        else:
            await Recipient.mark_read(self.engine, row.directive_id, row.person_id, "receipt", now)

    async def _event_ts(self, room_id: str, event_id: str) -> int | None:
        response = await self.client.room_get_event(room_id, event_id)
        event = getattr(response, "event", None)
        return getattr(event, "server_timestamp", None)

    async def _backfill(self, room_id: str, start: str | None, end: str) -> list[Any]:
        """Events the limited timeline left out (many messages while the bot was down)."""
        found: list[Any] = []
        while start:
            page = await self.client.room_messages(
                room_id, start=start, end=end, direction=MessageDirection.back, limit=100
            )
            if not isinstance(page, RoomMessagesResponse) or not page.chunk:
                break
            found.extend(page.chunk)
            if page.end == start:
                break
            start = page.end
        return list(reversed(found))

    async def _answer(self, room_id: str, event: RoomMessageText) -> None:
        content = event.source.get("content", {})
        private = await self._private(room_id, event.sender)
        if not private and not _command(content.get("msgtype", "m.text"), event):
            return  # a shared room's talk: never answered, nothing to remember
        if await AnsweredEvent.get(self.engine, event.event_id) is not None:
            return
        message = Incoming(
            event.sender,
            getattr(event, "body", "") or "",
            room_id,
            event.event_id,
            content.get("msgtype", "m.text"),
            content,
            private,
        )
        reply = await self.service.handle(message)
        if reply is not None:
            sent = await self._respond(room_id, event.event_id, event.sender, reply, private)
            if not sent:
                return  # not recorded: the next start answers it
            self.answered += 1
        await AnsweredEvent.record(self.engine, room_id, event.event_id)

    async def _respond(
        self,
        room_id: str,
        event_id: str,
        sender: str,
        reply: Reply,
        private: bool | None = None,
        pointer: bool = True,
    ) -> bool:
        """Send ``reply`` to ``event_id``: here in a private room, else in the sender's DM
        (with a pointer here if ``pointer``). False when it could not be sent."""
        if private is None:
            private = await self._private(room_id, sender)
        snapshot = await self.service.directory.get()
        person = snapshot.person_of_user.get(sender)
        if private or person is None:
            return await self._reply_here(room_id, event_id, reply)
        return await self._reply_privately(room_id, event_id, person.id, reply, pointer)

    async def _private(self, room_id: str, user_id: str) -> bool:
        """A room of just this person and the bot: a DM they opened, or their inbox."""
        snapshot = await self.service.directory.get()
        if snapshot.inbox_of_user(user_id) == room_id:
            return True
        room = await self._room(room_id)
        return room is not None and (room.joined_count or 0) + (room.invited_count or 0) <= 2

    async def _room(self, room_id: str) -> MatrixRoom | None:
        """nio's room, its members known (read from the room's state if nio has them not:
        a room that had no member change since the bot started)."""
        room = self.client.rooms.get(room_id)
        if knows_members(room):
            return room
        return await load_room(self.client, room_id)

    async def _reply_here(self, room_id: str, event_id: str, reply: Reply) -> bool:
        room = await self._room(room_id)
        if room is not None and room.encrypted and not room.members_synced:
            await self.client.joined_members(room_id)
        sent = await self.client.room_send(
            room_id,
            "m.room.message",
            reply.content(event_id),
            tx_id=_txn("reply", event_id),
            ignore_unverified_devices=True,
        )
        if not hasattr(sent, "event_id"):
            log.warning("reply to %s not sent: %s", event_id, sent)
            return False
        return True

    async def _reply_privately(
        self, room_id: str, event_id: str, person_id: int, reply: Reply, pointer: bool = True
    ) -> bool:
        """Answer a command typed in a shared room in the asker's inbox (answers may hold
        phone numbers and figures), and leave a one-line pointer where it was typed (not
        for a reaction or a reply to a post: thirty of them would fill the room)."""
        try:
            inbox = await _Transport(self).inbox(person_id)
            answer = reply.content()
            answer["vn.dieuhanh.answer_to"] = {"room_id": room_id, "event_id": event_id}
            await self.send(inbox, answer, _txn("reply", event_id))
            if pointer:
                note = Reply(ANSWERED_PRIVATELY, extra={"vn.dieuhanh.answered_in": inbox})
                await self.send(room_id, note.content(event_id), _txn("pointer", event_id))
        except Exception as exc:
            log.warning("private reply to %s not sent: %s", event_id, exc)
            return False
        return True

    # ------------------------------------------------------------------ helpers for others

    async def joined_members(self, room_id: str) -> set[str]:
        """Who is in the room; NotInRoom when the bot is not (Synapse shows it no members)."""
        response = await self.client.joined_members(room_id)
        if not isinstance(response, JoinedMembersResponse):
            if getattr(response, "status_code", None) == "M_FORBIDDEN":
                raise NotInRoom(room_id)
            raise RuntimeError(f"members of {room_id}: {response}")
        return {m.user_id for m in response.members}

    async def tell_person(self, person_id: int, text: str) -> None:
        """A notice in a person's inbox (made if need be)."""
        await self.notify(await _Transport(self).inbox(person_id), text)

    async def notify(self, room_id: str, text: str) -> None:
        await self.send(room_id, {"msgtype": "m.notice", "body": text})

    async def send(self, room_id: str, content: dict[str, Any], txn_id: str | None = None) -> str:
        """Send as the bot's device: encrypted where the room is, with retries otherwise.
        NotInRoom when the bot is not in an unencrypted room (directives' rooms, inboxes)."""
        room = self.client.rooms.get(room_id)
        if room is None and room_id in self.client.encrypted_rooms:
            room = await self._room(room_id)  # an encrypted DM not seen since the start
        if room is None or not room.encrypted:
            txn_id = txn_id or f"n.{hashlib.sha256(os.urandom(16)).hexdigest()[:24]}"
            try:
                return await self.http.send_event(room_id, content, txn_id)
            except MatrixError as exc:
                if exc.status == 403 and not_in_room(exc.errcode, exc.message):
                    raise NotInRoom(room_id) from exc
                raise
        if not room.members_synced:
            await self.client.joined_members(room_id)
        response = await self.client.room_send(
            room_id, "m.room.message", content, tx_id=txn_id, ignore_unverified_devices=True
        )
        if not isinstance(response, RoomSendResponse):
            raise RuntimeError(f"send to {room_id} failed: {response}")
        return response.event_id

    async def _expire_drafts(self, stop: asyncio.Event) -> None:
        """Tell people politely when their !gui draft timed out."""
        from bot.commands.capnhat import EXPIRED as CORRECTION_EXPIRED
        from bot.commands.capnhat import draft_of
        from bot.commands.gui import EXPIRED, TIMEOUT

        while not stop.is_set():
            for draft in await Draft.expired(self.engine, TIMEOUT, self.service.clock.now()):
                await Draft.drop(self.engine, draft.user_id, draft.room_id)
                with contextlib.suppress(Exception):
                    expired = CORRECTION_EXPIRED if draft_of(draft.state) else EXPIRED
                    await self.notify(draft.room_id, expired)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 60)

    async def close(self) -> None:
        await self.client.close()
        if self.http is not None:
            await self.http.close()


class _Transport:
    """What the delivery worker needs from Matrix, through the bot's own client."""

    def __init__(self, bot: MatrixBot) -> None:
        self.bot = bot

    async def send(self, room_id: str, content: dict[str, Any], txn_id: str) -> str:
        return await self.bot.send(room_id, content, txn_id)

    async def inbox(self, person_id: int) -> str:
        snapshot = await self.bot.service.directory.get()
        person = snapshot.view.people[person_id]
        primary = snapshot.primary(person)
        assert self.bot.http is not None, "inboxes are made once the bot is logged in"
        return await ensure_inbox(
            self.bot.http,
            self.bot.engine,
            person_code=person.code,
            full_name=person.full_name,
            unit_code=primary[1].code if primary else "",
            user_id=snapshot.user_of[person_id],
            bot_user_id=self.bot.user_id,
            server_name=self.bot.config.homeserver.server_name,
        )

    async def family_inbox(self, user_id: str) -> str:
        """A family account's inbox; a parent with a staff account has their staff inbox."""
        snapshot = await self.bot.service.directory.get()
        person = snapshot.person_of_user.get(user_id)
        if person is not None:
            return await self.inbox(person.id)
        assert self.bot.http is not None, "inboxes are made once the bot is logged in"
        return await ensure_inbox(
            self.bot.http,
            self.bot.engine,
            person_code=family_inbox_code(user_id),
            full_name=await family_display_name(self.bot.engine, user_id),
            unit_code="",
            user_id=user_id,
            bot_user_id=self.bot.user_id,
            server_name=self.bot.config.homeserver.server_name,
        )

    async def reupload(self, attachment: dict[str, Any]) -> dict[str, Any]:
        """An attachment from an encrypted DM, decrypted and uploaded once in clear."""
        file = attachment["file"]
        response = await self.bot.client.download(mxc=file["url"])
        if isinstance(response, DownloadError):
            raise RuntimeError(f"download of an attachment failed: {response.message}")
        data = decrypt_attachment(
            response.body, file["key"]["k"], file["hashes"]["sha256"], file["iv"]
        )
        info = attachment.get("info", {})
        uploaded, _ = await self.bot.client.upload(
            lambda *_: io.BytesIO(data),
            content_type=info.get("mimetype", "application/octet-stream"),
            filename=attachment.get("body", "tep"),
            filesize=len(data),
        )
        if not isinstance(uploaded, UploadResponse):
            raise RuntimeError(f"upload of an attachment failed: {uploaded}")
        clean = {k: v for k, v in attachment.items() if k != "file"}
        clean["url"] = uploaded.content_uri
        return clean

    async def upload(self, data: bytes, mimetype: str, filename: str) -> str:
        """Upload a file the bot made (an invitation's .ics); its mxc URI."""
        uploaded, _ = await self.bot.client.upload(
            lambda *_: io.BytesIO(data),
            content_type=mimetype,
            filename=filename,
            filesize=len(data),
        )
        if not isinstance(uploaded, UploadResponse):
            raise RuntimeError(f"upload of {filename} failed: {uploaded}")
        return uploaded.content_uri
