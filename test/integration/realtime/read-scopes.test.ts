/**
 * Read scopes on both socket edges: a token with only comments:read, only comments:write or only
 * room:presence:write must never receive the document's content (docs/architecture.md, "Read
 * scopes"). A writer puts secrets into a Y.Text and a Y.Map and comments next to them; restricted
 * clients connect over /collab (Hocuspocus provider, the SDK, a raw socket) and /yjs (stock
 * y-websocket), and every byte they receive is searched for the secrets, before and after further
 * edits made while they are connected.
 */
import { expect } from "chai";
import * as Y from "yjs";
import * as decoding from "lib0/decoding";
import WebSocket from "ws";
import { HocuspocusProvider, HocuspocusProviderWebsocket } from "@hocuspocus/provider";
import { WebsocketProvider } from "y-websocket";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { connectProvider, waitFor, waitForAcked, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { openRawSocket, authFrame, syncStep1Frame, updateFrame, type RawSocket } from "../../helpers/raw-socket.ts";
import { addComment, createThread } from "../../helpers/comments.ts";
import { startAuthBackend, FAST_RECONNECT, type AuthBackend } from "../../helpers/sdk.ts";
import { COMMENTS, THREADS } from "../../../protocol/comment-schema.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";
import { toUint8Array } from "../../../server/realtime/raw-data.ts";
import type { RoomPermission } from "../../../protocol/permissions.ts";
import { createClient, type Client } from "../../../client/core/index.ts";

const ORG = "org-scopes";
const TEXT_SECRET = "TEXT-SECRET-7d1c";
const MAP_SECRET = "MAP-SECRET-4b9e";
const LATER_TEXT_SECRET = "LATER-TEXT-SECRET-a2f0";
const LATER_MAP_SECRET = "LATER-MAP-SECRET-91bb";
const COMMENT_BODY = "COMMENT-BODY-5e6f";
const LATER_COMMENT_BODY = "LATER-COMMENT-BODY-0c3d";
const CONTENT_SECRETS = [TEXT_SECRET, MAP_SECRET, LATER_TEXT_SECRET, LATER_MAP_SECRET];
const COMMENT_BODIES = [COMMENT_BODY, LATER_COMMENT_BODY];

/** A `ws` WebSocket that also keeps every binary message it receives, for byte-level checks. */
function recordingWebSocket(sink: Uint8Array[], opened: WebSocket[] = []): typeof WebSocket {
  return class RecordingWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      opened.push(this);
      this.on("message", (data: WebSocket.RawData, isBinary: boolean) => {
        if (isBinary) sink.push(toUint8Array(data).slice());
      });
    }
  } as typeof WebSocket;
}

function bytesContain(frames: Uint8Array[], needle: string): boolean {
  return Buffer.concat(frames).includes(Buffer.from(needle, "utf8"));
}

type Level = "comments:read" | "comments:write" | "room:presence:write";
const LEVELS: Level[] = ["comments:read", "comments:write", "room:presence:write"];
const seesComments = (level: Level) => level !== "room:presence:write";

interface Observer {
  kind: string;
  doc: Y.Doc;
  received: Uint8Array[];
  awareness: () => Map<number, Record<string, any>>;
  synced: () => boolean;
  setPresence: (field: string, value: unknown) => void;
}

describe("read scopes: comments-only and presence-only tokens never receive the document's content", () => {
  let server: TestServer;
  let room: string;
  let counter = 0;
  const cleanups: Array<() => void | Promise<void>> = [];

  before(async () => {
    server = await startServer();
  });
  beforeEach(() => {
    room = `scopes-${process.pid}-${++counter}`;
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  after(() => server.close());

  async function token(userId: string, permissions: RoomPermission[]): Promise<string> {
    return mintToken({ userId, orgId: ORG, userInfo: { name: userId }, permissions: { [room]: permissions } });
  }

  async function writer(userId = "writer"): Promise<TestProvider> {
    const c = connectProvider(server.collabUrl, room, await token(userId, ["room:write"]));
    cleanups.push(() => c.destroy());
    await waitForSynced(c);
    return c;
  }

  /** The writer's content (text and map) and a thread with a comment, acknowledged by the server. */
  async function seed(w: TestProvider): Promise<{ threadId: string }> {
    w.text.insert(0, `public intro ${TEXT_SECRET} outro`);
    w.doc.getMap("settings").set("password", MAP_SECRET);
    const { threadId } = createThread(w.doc, "writer", COMMENT_BODY);
    await waitForAcked(w);
    return { threadId };
  }

  async function hocuspocusObserver(userId: string, permissions: RoomPermission[]): Promise<Observer> {
    const received: Uint8Array[] = [];
    const doc = new Y.Doc();
    const socket = new HocuspocusProviderWebsocket({ url: server.collabUrl, maxAttempts: 0, delay: 100, minDelay: 100, maxDelay: 500, WebSocketPolyfill: recordingWebSocket(received) });
    const provider = new HocuspocusProvider({ websocketProvider: socket, name: room, token: await token(userId, permissions), document: doc });
    provider.attach();
    cleanups.push(() => {
      provider.destroy();
      socket.destroy();
      doc.destroy();
    });
    return { kind: "hocuspocus", doc, received, awareness: () => provider.awareness!.getStates() as never, synced: () => provider.isSynced, setPresence: (f, v) => provider.setAwarenessField(f, v) };
  }

  async function ywsObserver(userId: string, permissions: RoomPermission[]): Promise<Observer & { provider: WebsocketProvider }> {
    const received: Uint8Array[] = [];
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(`${server.httpUrl.replace(/^http/, "ws")}/yjs`, room, doc, {
      WebSocketPolyfill: recordingWebSocket(received) as unknown as typeof globalThis.WebSocket,
      disableBc: true,
      params: { token: await token(userId, permissions) },
      maxBackoffTime: 500,
    });
    cleanups.push(() => {
      provider.destroy();
      doc.destroy();
    });
    return { kind: "y-websocket", doc, received, awareness: () => provider.awareness.getStates() as never, synced: () => provider.synced, setPresence: (f, v) => provider.awareness.setLocalStateField(f, v), provider };
  }

  async function rawObserver(permissions: RoomPermission[]): Promise<RawSocket> {
    const raw = await openRawSocket(server.collabUrl);
    cleanups.push(() => raw.close());
    raw.send(authFrame(room, await token("raw", permissions)));
    raw.send(syncStep1Frame(room));
    return raw;
  }

  for (const level of LEVELS) {
    it(`${level} alone: no secret in any byte over /collab or /yjs, before and after later edits; comments ${seesComments(level) ? "arrive" : "do not arrive"}`, async () => {
      const w = await writer();
      const { threadId } = await seed(w);

      const observers = [await hocuspocusObserver("hp-reader", [level]), await ywsObserver("yws-reader", [level])];
      const raw = await rawObserver([level]);
      // A full reader on a raw socket: its frames tell when the later activity push has gone out.
      const control = await rawObserver(["room:read"]);
      for (const o of observers) await waitFor(o.synced, 5000, `${o.kind} sync`);
      await waitFor(() => raw.received.length >= 2, 5000, "raw sync replies");
      if (seesComments(level)) {
        for (const o of observers) {
          await waitFor(() => o.doc.getMap(THREADS).has(threadId), 5000, `thread at ${o.kind}`);
          expect(JSON.stringify(o.doc.getMap(COMMENTS).toJSON())).to.include(COMMENT_BODY);
        }
      }

      const rawBefore = raw.received.length;
      // Later edits while they are connected: content, then a comment under the same Yjs client id.
      w.text.insert(0, `${LATER_TEXT_SECRET} `);
      w.doc.getMap("settings").set("token", LATER_MAP_SECRET);
      w.doc.getText("content").delete(w.text.length - 5, 5);
      const later = addComment(w.doc, "writer", threadId, LATER_COMMENT_BODY);
      await waitForAcked(w);
      // Awareness from the writer goes out after its document updates: once it arrives, so have they.
      w.provider.setAwarenessField("phase", "after-edits");
      for (const o of observers) {
        await waitFor(() => [...o.awareness().values()].some((s) => s.phase === "after-edits"), 5000, `writer's presence at ${o.kind}`);
        if (seesComments(level)) await waitFor(() => o.doc.getMap(COMMENTS).has(later), 5000, `later comment at ${o.kind}`);
      }
      await waitFor(() => raw.received.length > rawBefore, 5000, "later frames at the raw socket");
      // The activity feed pushes the new comment (with an excerpt) to the room's connections.
      await waitFor(() => control.received.some((f) => bytesContain([f], "sf:activity") && bytesContain([f], LATER_COMMENT_BODY)), 5000, "activity push");
      await new Promise((r) => setTimeout(r, 200));
      expect(bytesContain(control.received, LATER_TEXT_SECRET), "the full reader gets the content").to.equal(true);

      for (const o of [...observers, { kind: "raw", received: raw.received, doc: null }]) {
        for (const secret of CONTENT_SECRETS) expect(bytesContain(o.received, secret), `${secret} reached ${o.kind}`).to.equal(false);
        for (const body of COMMENT_BODIES) expect(bytesContain(o.received, body), `${body} at ${o.kind}`).to.equal(seesComments(level));
        if (o.doc) {
          expect(o.doc.getText("content").toString()).to.equal("");
          expect(o.doc.getMap("settings").size).to.equal(0);
        }
      }
      // The writer's view is untouched, and the server's copy too.
      expect(w.text.toString()).to.include(LATER_TEXT_SECRET);
      const serverDoc = server.app.hocuspocus.documents.get(toDocumentName(ORG, room))!;
      expect(serverDoc.getText("content").toString()).to.equal(w.text.toString());
    });
  }

  it("a comments:write client posts comments over /collab and /yjs that the writer receives, also after reconnecting", async () => {
    const w = await writer();
    const { threadId } = await seed(w);
    const hp = await hocuspocusObserver("carol", ["comments:write"]);
    const yws = await ywsObserver("dave", ["comments:write"]);
    for (const o of [hp, yws]) await waitFor(() => o.synced() && o.doc.getMap(THREADS).has(threadId), 5000, `${o.kind} sync`);

    const fromHp = addComment(hp.doc, "carol", threadId, "reply over collab");
    const fromYws = addComment(yws.doc, "dave", threadId, "reply over yjs");
    await waitFor(() => w.doc.getMap(COMMENTS).has(fromHp) && w.doc.getMap(COMMENTS).has(fromYws), 5000, "both replies at the writer");

    // A reconnect replays the sync handshake with everything the client holds (its sync step 2).
    yws.provider.disconnect();
    w.text.insert(0, "edited while dave was away ");
    await waitForAcked(w);
    yws.provider.connect();
    await waitFor(() => yws.synced(), 5000, "yws resync");
    const afterReconnect = addComment(yws.doc, "dave", threadId, "still here");
    await waitFor(() => w.doc.getMap(COMMENTS).has(afterReconnect), 5000, "reply after reconnect");
    for (const o of [hp, yws]) {
      for (const secret of [TEXT_SECRET, MAP_SECRET]) expect(bytesContain(o.received, secret), `${secret} at ${o.kind}`).to.equal(false);
      expect(o.doc.getText("content").toString()).to.equal("");
    }
  });

  it("the SDK (client/core) with comments:write reads threads and comments and posts a reply, never the content", async () => {
    const w = await writer();
    const { threadId } = await seed(w);
    const backend: AuthBackend = await startAuthBackend({ orgId: ORG, permissions: { "*": ["comments:write"] } });
    cleanups.push(() => backend.close());
    const received: Uint8Array[] = [];
    const sockets: WebSocket[] = [];
    const client: Client = createClient({ url: server.httpUrl, authEndpoint: backend.url("erin"), reconnect: FAST_RECONNECT, WebSocket: recordingWebSocket(received, sockets) });
    cleanups.push(() => client.destroy());
    const sdkRoom = client.enterRoom(room);
    await sdkRoom.waitUntilSynced();
    await waitFor(() => sdkRoom.comments.getThreads().length === 1, 5000, "thread in the SDK");
    expect(sdkRoom.comments.getThreads()[0]!.comments[0]!.body).to.equal(COMMENT_BODY);

    const reply = await sdkRoom.comments.createComment(threadId, "an SDK reply");
    await waitFor(() => w.doc.getMap(COMMENTS).has(reply.id), 5000, "the SDK's reply at the writer");
    w.text.insert(0, `${LATER_TEXT_SECRET} `);
    await waitForAcked(w);

    // The connection drops; the SDK reconnects and replays its sync handshake, then comments again.
    sockets[0]!.terminate();
    await waitFor(() => sockets.length === 2 && sdkRoom.getStatus() === "connected", 5000, "reconnected");
    await sdkRoom.waitUntilSynced();
    const again = await sdkRoom.comments.createComment(threadId, "after the reconnect");
    await waitFor(() => w.doc.getMap(COMMENTS).has(again.id), 5000, "the reply after reconnecting at the writer");
    await new Promise((r) => setTimeout(r, 200));
    for (const secret of [TEXT_SECRET, MAP_SECRET, LATER_TEXT_SECRET]) expect(bytesContain(received, secret), secret).to.equal(false);
    expect(sdkRoom.getStatus()).to.equal("connected");
  });

  it("presence flows both ways at every level; the presence-only client cannot change the document", async () => {
    const w = await writer();
    await seed(w);
    w.provider.setAwarenessField("cursor", { x: 1 });
    const clients = await Promise.all(LEVELS.map((level, i) => hocuspocusObserver(`p${i}`, [level])));
    for (const c of clients) c.setPresence("here", true);
    for (const c of clients) await waitFor(() => [...c.awareness().values()].some((s) => s.cursor?.x === 1), 5000, `writer's presence at ${c.kind}`);
    const writerStates = () => [...w.provider.awareness!.getStates().values()] as Array<Record<string, any>>;
    for (let i = 0; i < LEVELS.length; i++) {
      await waitFor(() => writerStates().some((s) => s.user?.id === `p${i}`), 5000, `p${i} seen by the writer`);
    }
    // Presence fields travel for room:presence:write; comments-only tokens are seen by identity (awareness.test.ts).
    await waitFor(() => writerStates().some((s) => s.user?.id === "p2" && s.here === true), 5000, "p2's presence field");

    const presenceOnly = clients[2]!;
    presenceOnly.doc.getText("content").insert(0, "VANDALISM ");
    presenceOnly.doc.getMap("settings").set("password", "overwritten");
    await new Promise((r) => setTimeout(r, 300));
    expect(w.text.toString()).to.not.include("VANDALISM");
    expect(w.doc.getMap("settings").get("password")).to.equal(MAP_SECRET);
    const serverDoc = server.app.hocuspocus.documents.get(toDocumentName(ORG, room))!;
    expect(serverDoc.getText("content").toString()).to.not.include("VANDALISM");

    const raw = await rawObserver(["room:presence:write"]);
    await waitFor(() => raw.received.length >= 2, 5000, "raw sync");
    const update = new Y.Doc();
    update.getText("content").insert(0, "RAW VANDALISM");
    const e = Y.encodeStateAsUpdate(update);
    raw.send(updateFrame(room, e));
    await new Promise((r) => setTimeout(r, 300));
    expect(serverDoc.getText("content").toString()).to.not.include("RAW VANDALISM");
  });

  it("two sessions of one room on one socket each get what their own token allows", async () => {
    const w = await writer();
    await seed(w);
    const raw = await openRawSocket(server.collabUrl);
    cleanups.push(() => raw.close());
    const full = room;
    const restricted = `${room}\u0000s2`;
    // Both Auth messages at once: authentication of the two may finish in either order.
    raw.send(authFrame(restricted, await token("same-user", ["comments:read"])));
    raw.send(authFrame(full, await token("same-user", ["room:read"])));
    raw.send(syncStep1Frame(restricted));
    raw.send(syncStep1Frame(full));
    const framesFor = (address: string) => raw.received.filter((f) => decoding.readVarString(decoding.createDecoder(f)) === address);
    await waitFor(() => bytesContain(framesFor(full), TEXT_SECRET), 5000, "content for the full session");
    await waitFor(() => bytesContain(framesFor(restricted), COMMENT_BODY), 5000, "comments for the restricted session");
    w.text.insert(0, `${LATER_TEXT_SECRET} `);
    await waitFor(() => bytesContain(framesFor(full), LATER_TEXT_SECRET), 5000, "later content for the full session");
    await new Promise((r) => setTimeout(r, 100));
    for (const secret of CONTENT_SECRETS) expect(bytesContain(framesFor(restricted), secret), secret).to.equal(false);
  });

  it("a token refresh that drops room:read hides the content changed after it", async () => {
    const w = await writer();
    const { threadId } = await seed(w);
    let current = await token("reader", ["room:read"]);
    const received: Uint8Array[] = [];
    const doc = new Y.Doc();
    const socket = new HocuspocusProviderWebsocket({ url: server.collabUrl, maxAttempts: 0, delay: 100, minDelay: 100, maxDelay: 500, WebSocketPolyfill: recordingWebSocket(received) });
    const provider = new HocuspocusProvider({ websocketProvider: socket, name: room, token: () => current, document: doc });
    provider.attach();
    cleanups.push(() => {
      provider.destroy();
      socket.destroy();
      doc.destroy();
    });
    await waitFor(() => doc.getText("content").toString() === w.text.toString(), 5000, "content before the refresh");

    current = await token("reader", ["comments:read"]);
    await provider.sendToken();
    const serverDoc = server.app.hocuspocus.documents.get(toDocumentName(ORG, room))!;
    const readerLevel = () => [...serverDoc.getConnections()].map((c) => (c.context as { userId: string; access: { readLevel: string } })).find((c) => c.userId === "reader")?.access.readLevel;
    await waitFor(() => readerLevel() === "comments", 5000, "the refreshed level");
    const seenBefore = received.length;
    w.text.insert(0, `${LATER_TEXT_SECRET} `);
    const later = addComment(w.doc, "writer", threadId, LATER_COMMENT_BODY);
    await waitFor(() => doc.getMap(COMMENTS).has(later), 5000, "the later comment");
    expect(bytesContain(received.slice(seenBefore), LATER_TEXT_SECRET)).to.equal(false);
    expect(doc.getText("content").toString()).to.not.include(LATER_TEXT_SECRET);
  });

  it("room:read still receives everything", async () => {
    const w = await writer();
    const { threadId } = await seed(w);
    const hp = await hocuspocusObserver("reader", ["room:read"]);
    const yws = await ywsObserver("reader2", ["room:read"]);
    for (const o of [hp, yws]) {
      await waitFor(() => o.doc.getText("content").toString() === w.text.toString(), 5000, `content at ${o.kind}`);
      expect(o.doc.getMap("settings").get("password")).to.equal(MAP_SECRET);
      expect(o.doc.getMap(THREADS).has(threadId)).to.equal(true);
    }
    w.text.insert(0, `${LATER_TEXT_SECRET} `);
    for (const o of [hp, yws]) await waitFor(() => o.doc.getText("content").toString() === w.text.toString(), 5000, `later content at ${o.kind}`);
  });
});
