/**
 * Broadcast events on one process (server/realtime/room-events.ts): between /collab (Hocuspocus
 * stateless messages) and /yjs (message type 100, through the SDK's y-websocket helper) both ways,
 * stamped with the sender's token identity, never echoed; refused for read-only and comments-only
 * tokens, over the size limit and over the per-connection rate, with nothing delivered.
 */
import { expect } from "chai";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { connectYws, type YwsClient } from "../../helpers/yws.ts";
import { startAuthBackend, FAST_RECONNECT, type AuthBackend } from "../../helpers/sdk.ts";
import { attachYwsEvents, createClient, type Client, type CustomEvent, type SyncForgeError, type YwsEvents } from "../../../client/core/index.ts";
import { encodeBroadcast, parseEventMessage, type EventRefusedMessage, type RoomEventMessage } from "../../../protocol/events.ts";

/** A Hocuspocus provider and what it received as events and refusals. */
interface Collab {
  client: TestProvider;
  events: RoomEventMessage[];
  refusals: EventRefusedMessage[];
  send(event: unknown): void;
}

describe("broadcast events", function () {
  this.timeout(20_000);
  let server: TestServer;
  const providers: TestProvider[] = [];
  const ywsClients: YwsClient[] = [];
  let room: string;
  let counter = 0;

  before(async () => {
    server = await startServer({ BROADCAST_EVENTS_PER_SECOND: "0.01", BROADCAST_EVENTS_BURST: "3", BROADCAST_MAX_EVENT_BYTES: "200" });
  });
  beforeEach(() => {
    room = `events-${process.pid}-${++counter}`;
  });
  afterEach(() => {
    while (providers.length) providers.pop()!.destroy();
    while (ywsClients.length) ywsClients.pop()!.destroy();
  });
  after(() => server.close());

  async function collab(userId: string, permissions: string[] = ["room:write"]): Promise<Collab> {
    const token = await mintToken({ userId, userInfo: { name: `${userId} name` }, permissions: { [room]: permissions as never } });
    const client = connectProvider(server.collabUrl, room, token);
    providers.push(client);
    const c: Collab = { client, events: [], refusals: [], send: (event) => client.provider.sendStateless(encodeBroadcast(event)) };
    client.provider.on("stateless", ({ payload }: { payload: string }) => {
      const message = parseEventMessage(payload);
      if (message?.type === "sf:event") c.events.push(message);
      else if (message) c.refusals.push(message);
    });
    await waitForSynced(client);
    // Announces its Yjs client id, which events are stamped with.
    client.provider.setAwarenessField("presence", {});
    return c;
  }

  async function yws(userId: string, permissions: string[] = ["room:write"]): Promise<{ client: YwsClient; events: YwsEvents; received: CustomEvent[]; errors: SyncForgeError[] }> {
    const token = await mintToken({ userId, userInfo: { name: `${userId} name` }, permissions: { [room]: permissions as never } });
    const client = connectYws(server.httpUrl, room, token, { stateless: "1" });
    ywsClients.push(client);
    const events = attachYwsEvents(client.provider as never);
    const received: CustomEvent[] = [];
    const errors: SyncForgeError[] = [];
    events.customEvent.subscribe((e) => received.push(e));
    events.error.subscribe((e) => errors.push(e));
    await waitFor(() => client.provider.synced, 5000, "y-websocket provider to sync");
    client.provider.awareness.setLocalStateField("presence", {});
    return { client, events, received, errors };
  }

  /** Both providers' awareness reached the server: their connection ids are known there. */
  async function awarenessSettled(observer: TestProvider, clientId: number): Promise<void> {
    await waitFor(() => observer.provider.awareness!.getStates().has(clientId), 5000, `the awareness of ${clientId} to cross`);
  }

  it("reaches every other connection on /collab and /yjs, stamped, and never its sender", async () => {
    const ada = await collab("ada");
    const bob = await collab("bob");
    const cy = await yws("cy");
    // A stock y-websocket provider that did not ask with stateless=1 is sent no type 100 messages.
    const plain = connectYws(server.httpUrl, room, await mintToken({ userId: "plain", permissions: { [room]: ["room:write"] } }));
    ywsClients.push(plain);
    let plainGot = 0;
    (plain.provider.messageHandlers as unknown[])[100] = () => plainGot++;
    await waitFor(() => plain.provider.synced, 5000, "the plain provider to sync");
    await awarenessSettled(bob.client, ada.client.doc.clientID);
    ada.send({ kind: "emoji", value: "🎉" });
    await waitFor(() => bob.events.length === 1 && cy.received.length === 1, 5000, "the event at Bob and Cy");
    expect(bob.events[0]).to.deep.equal({
      type: "sf:event",
      user: { id: "ada", info: { name: "ada name" } },
      connectionId: ada.client.doc.clientID,
      event: { kind: "emoji", value: "🎉" },
    });
    expect(cy.received[0]).to.deep.equal({ user: { id: "ada", info: { name: "ada name" } }, connectionId: ada.client.doc.clientID, event: { kind: "emoji", value: "🎉" } });

    // From /yjs to /collab, through the SDK helper; the sender hears nothing of its own.
    await awarenessSettled(ada.client, cy.client.doc.clientID);
    expect(cy.events.broadcast(["from", "yjs"])).to.equal(true);
    await waitFor(() => ada.events.length === 1 && bob.events.length === 2, 5000, "Cy's event on /collab");
    expect(ada.events[0]!.user).to.deep.equal({ id: "cy", info: { name: "cy name" } });
    expect(ada.events[0]!.connectionId).to.equal(cy.client.doc.clientID);
    expect(ada.events[0]!.event).to.deep.equal(["from", "yjs"]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(ada.events).to.have.length(1);
    expect(cy.received).to.have.length(1);
    expect(plainGot).to.equal(0);
  });

  it("refuses read-only and comments-only tokens with a clear error and delivers nothing; presence writers may send", async () => {
    const reader = await collab("reader", ["room:read"]);
    const commenter = await collab("commenter", ["comments:write"]);
    const listener = await collab("listener");
    const ywsReader = await yws("yws-reader", ["room:read"]);
    reader.send({ n: 1 });
    commenter.send({ n: 2 });
    ywsReader.events.broadcast({ n: 3 });
    await waitFor(() => reader.refusals.length === 1 && commenter.refusals.length === 1 && ywsReader.errors.length === 1, 5000, "the refusals");
    expect(reader.refusals[0]!.code).to.equal("broadcast_forbidden");
    expect(commenter.refusals[0]!.code).to.equal("broadcast_forbidden");
    expect(ywsReader.errors[0]!.code).to.equal("broadcast_forbidden");

    const presence = await collab("presence", ["room:read", "room:presence:write"]);
    presence.send({ n: 4 });
    await waitFor(() => listener.events.length >= 1, 5000, "the presence writer's event");
    expect(listener.events.map((e) => e.event)).to.deep.equal([{ n: 4 }]);
    // The read-only connections still receive events.
    await waitFor(() => reader.events.length === 1 && ywsReader.received.length === 1, 5000, "events at the readers");
  });

  it("refuses an event over the size limit, and events over the per-connection rate, telling the sender once", async () => {
    const ada = await collab("ada");
    const bob = await collab("bob");
    ada.send({ big: "x".repeat(300) });
    await waitFor(() => ada.refusals.length === 1, 5000, "the size refusal");
    expect(ada.refusals[0]!.code).to.equal("event_too_large");
    // Burst of 3, refilled at one per 100 s: the next 3 go, the 7 after them do not.
    for (let i = 0; i < 10; i++) ada.send({ i });
    await waitFor(() => ada.refusals.length === 2, 5000, "the rate refusal");
    expect(ada.refusals[1]!.code).to.equal("event_rate_limited");
    await waitFor(() => bob.events.length === 3, 5000, "the events within the burst");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(bob.events.map((e) => e.event)).to.deep.equal([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(ada.refusals).to.have.length(2);
    // Bob has his own budget.
    bob.send("hello");
    await waitFor(() => ada.events.length === 1, 5000, "Bob's event");
  });

  describe("through the SDK", () => {
    let backend: AuthBackend;
    const sdkClients: Client[] = [];
    before(async () => {
      backend = await startAuthBackend({ orgId: "org-test" });
    });
    afterEach(() => {
      while (sdkClients.length) sdkClients.pop()!.destroy();
    });
    after(() => backend.close());

    it("room.broadcast reaches room.events.customEvent of the others, not the sender", async () => {
      const enter = (userId: string) => {
        const c = createClient({ url: server.httpUrl, authEndpoint: backend.url(userId), reconnect: FAST_RECONNECT });
        sdkClients.push(c);
        return c.enterRoom(room);
      };
      const ada = enter("ada");
      const bob = enter("bob");
      await Promise.all([ada.waitUntilSynced(), bob.waitUntilSynced()]);
      const atBob: CustomEvent[] = [];
      const atAda: CustomEvent[] = [];
      bob.events.customEvent.subscribe((e) => atBob.push(e));
      ada.events.customEvent.subscribe((e) => atAda.push(e));
      await waitFor(() => bob.getOthers().some((u) => u.id === "ada"), 5000, "Ada among Bob's others");
      ada.broadcast({ type: "wave" });
      await waitFor(() => atBob.length === 1, 5000, "the event at Bob");
      expect(atBob[0]!.user!.id).to.equal("ada");
      expect(atBob[0]!.connectionId).to.equal(bob.getOthers().find((u) => u.id === "ada")!.connectionId);
      expect(atBob[0]!.event).to.deep.equal({ type: "wave" });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(atAda).to.have.length(0);
    });
  });
});
