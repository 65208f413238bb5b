import { expect } from "chai";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { openRawSocket, authFrame, frameType, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { awarenessFrame, readAwarenessFrame } from "../../helpers/awareness.ts";
import { colorForUser, readAwarenessEntries } from "../../../server/realtime/awareness.ts";
import { RENEWAL_BATCH_MS } from "../../../server/realtime/presence/presence-room.ts";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { MessageType } from "../../../protocol/messages.ts";

type State = Record<string, any>;

describe("awareness over /collab: identity, ownership, limits", () => {
  let server: TestServer;
  const clients: TestProvider[] = [];
  const sockets: RawSocket[] = [];
  let roomCounter = 0;
  let room: string;

  before(async () => {
    server = await startServer({ AWARENESS_MAX_STATE_BYTES: "4096", AWARENESS_UPDATES_PER_SECOND: "60" });
  });
  beforeEach(() => {
    room = `presence-${process.pid}-${++roomCounter}`;
  });
  afterEach(async () => {
    while (clients.length) clients.pop()!.destroy();
    await Promise.all(sockets.splice(0).map((s) => s.close()));
  });
  after(() => server.close());

  async function connect(userId: string, userInfo: Record<string, string> = { name: userId }, permissions = { "*": ["room:write" as const] }) {
    const c = connectProvider(server.collabUrl, room, await mintToken({ userId, userInfo, permissions }));
    clients.push(c);
    await waitForSynced(c);
    return c;
  }

  /** The entries (client id, clock) of every awareness frame `socket` received, in order. */
  function readAwarenessFrames(socket: RawSocket): { id: number; clock: number }[] {
    return socket.received.flatMap((frame) => {
      const d = decoding.createDecoder(frame);
      decoding.readVarString(d);
      if (decoding.readVarUint(d) !== MessageType.Awareness) return [];
      return readAwarenessEntries(decoding.readVarUint8Array(d)).map((e) => ({ id: e.clientId, clock: e.clock }));
    });
  }
  /** Every awareness message `socket` received: its entries with clocks and states. */
  function awarenessMessages(socket: RawSocket): { id: number; clock: number; state: State | null }[][] {
    return socket.received.flatMap((frame) => {
      const d = decoding.createDecoder(frame);
      decoding.readVarString(d);
      if (decoding.readVarUint(d) !== MessageType.Awareness) return [];
      const entries = readAwarenessEntries(decoding.readVarUint8Array(d));
      return [entries.map((e) => ({ id: e.clientId, clock: e.clock, state: JSON.parse(Buffer.from(e.raw).toString()) as State | null }))];
    });
  }
  async function raw(userId: string): Promise<RawSocket> {
    const s = await openRawSocket(server.collabUrl);
    sockets.push(s);
    s.send(authFrame(room, await mintToken({ userId, userInfo: { name: userId } })));
    await waitForAuthenticated(s);
    return s;
  }

  function stateAt(observer: TestProvider, clientId: number): State | undefined {
    return observer.provider.awareness!.getStates().get(clientId) as State | undefined;
  }

  /** Every state `observer` ever saw for a client id, in order. */
  function record(observer: TestProvider): Map<number, State[]> {
    const seen = new Map<number, State[]>();
    observer.provider.awareness!.on("update", ({ added, updated }: { added: number[]; updated: number[] }) => {
      for (const id of [...added, ...updated]) {
        const list = seen.get(id) ?? [];
        list.push(structuredClone(observer.provider.awareness!.getStates().get(id) as State));
        seen.set(id, list);
      }
    });
    return seen;
  }

  it("replaces a claimed user id and name with the token's identity at every other client", async () => {
    const alice = await connect("user-a", { name: "Alice" });
    const bob = await connect("user-b", { name: "Bob", color: "#123456", avatar: "https://example.com/b.png" });
    const carol = await connect("user-c", { name: "Carol" });
    // A state is only shared once set: y-protocols ignores a client's initial clock-0 state.
    bob.provider.setAwarenessField("presence", { status: "online" });
    alice.provider.setAwarenessField("user", { id: "user-b", name: "Bob", color: "#000000" });
    alice.provider.setAwarenessField("cursor", { anchor: { type: null, tname: "content", item: null, assoc: 0 }, head: null });
    alice.provider.setAwarenessField("typing", true);
    const id = alice.doc.clientID;
    for (const observer of [bob, carol]) {
      await waitFor(() => stateAt(observer, id)?.typing === true, 5000, "Alice's state");
      const state = stateAt(observer, id)!;
      expect(state.user).to.deep.equal({ id: "user-a", name: "Alice", color: colorForUser("user-a") });
      expect(state.cursor.anchor.tname).to.equal("content");
    }
    await waitFor(() => stateAt(alice, bob.doc.clientID)?.user?.id === "user-b", 5000, "Bob's state");
    expect(stateAt(alice, bob.doc.clientID)!.user).to.deep.equal({
      id: "user-b",
      name: "Bob",
      color: "#123456",
      avatar: "https://example.com/b.png",
    });
  });

  it("answers a QueryAwareness with every other state of the room, stamped, and never the asker's own", async () => {
    const alice = await connect("alice");
    alice.provider.setAwarenessField("cursor", { x: 7 });
    const s = await raw("bob");
    s.send(awarenessFrame(room, [{ clientId: 424242, clock: 1, state: { cursor: { x: 1 } } }]));
    await waitFor(() => awarenessMessages(s).length > 0, 5000, "the states sent on joining");
    const before = s.received.length;
    const query = encoding.createEncoder();
    encoding.writeVarString(query, room);
    encoding.writeVarUint(query, MessageType.QueryAwareness);
    s.send(encoding.toUint8Array(query));
    await waitFor(() => awarenessMessages({ ...s, received: s.received.slice(before) }).length > 0, 5000, "the answer to the query");
    const answer = awarenessMessages({ ...s, received: s.received.slice(before) })[0]!;
    const aliceId = alice.provider.awareness!.clientID;
    expect(answer.map((e) => e.id)).to.include(aliceId).and.not.include(424242);
    const state = answer.find((e) => e.id === aliceId)!.state!;
    expect(state.cursor).to.deep.equal({ x: 7 });
    expect(state.user).to.include({ id: "alice", name: "alice" });
    expect(frameType(s.received[s.received.length - 1]!).address, "addressed by the plain room id").to.equal(room);
  });

  it("drops a raw client's attempts to set or remove another client's state", async () => {
    const alice = await connect("user-a", { name: "Alice" });
    const bob = await connect("user-b", { name: "Bob" });
    alice.provider.setAwarenessField("presence", { status: "here" });
    const aliceId = alice.doc.clientID;
    await waitFor(() => stateAt(bob, aliceId)?.presence?.status === "here", 5000, "Alice's presence");
    const seen = record(bob);

    const mallory = await raw("mallory");
    mallory.send(awarenessFrame(room, [{ clientId: aliceId, clock: 10_000, state: { presence: { status: "hacked" }, user: { id: "user-a", name: "Alice" } } }]));
    mallory.send(awarenessFrame(room, [{ clientId: aliceId, clock: 10_001, state: null }]));
    // Mallory's own id is fine, and tells us when the server has handled everything before it.
    mallory.send(awarenessFrame(room, [{ clientId: 424242, clock: 1, state: { presence: { marker: true } } }]));
    await waitFor(() => stateAt(bob, 424242)?.presence?.marker === true, 5000, "Mallory's own state");

    expect(stateAt(bob, 424242)!.user.id).to.equal("mallory");
    expect(stateAt(bob, aliceId)?.presence).to.deep.equal({ status: "here" });
    expect(seen.get(aliceId) ?? []).to.deep.equal([]);
    // Alice's own next update still goes through (her clock was not raced past by Mallory's).
    alice.provider.setAwarenessField("presence", { status: "still here" });
    await waitFor(() => stateAt(bob, aliceId)?.presence?.status === "still here", 5000, "Alice's update");
  });

  it("closes only the socket that sends an oversized state (4413), and the state reaches nobody", async () => {
    const alice = await connect("user-a");
    const bob = await connect("user-b");
    const seen = record(bob);
    const big = await raw("big");
    big.send(awarenessFrame(room, [{ clientId: 777, clock: 1, state: { presence: { blob: "x".repeat(5000) } } }]));
    expect(await big.closed).to.deep.include({ code: 4413, reason: "awareness_too_large" });

    alice.provider.setAwarenessField("presence", { after: true });
    await waitFor(() => stateAt(bob, alice.doc.clientID)?.presence?.after === true, 5000, "a later update");
    expect(seen.has(777)).to.equal(false);
    expect(alice.provider.isSynced && bob.provider.isSynced).to.equal(true);
  });

  it("closes with 4400 on a state that is not a JSON object", async () => {
    for (const state of ["{not json", "[1,2]", "42"]) {
      const s = await raw("bad");
      s.send(awarenessFrame(room, [{ clientId: 778, clock: 1, state, raw: true }]));
      expect(await s.closed).to.deep.include({ code: 4400, reason: "malformed_message" });
    }
  });

  it("a read-only client is seen; a client without presence permission is seen with its identity only", async () => {
    const writer = await connect("writer");
    const reader = await connect("reader", { name: "Reader" }, { "*": ["room:read" as const] } as never);
    const commenter = await connect("commenter", { name: "Commenter" }, { "*": ["comments:read" as const] } as never);
    reader.provider.setAwarenessField("pointer", { x: 10, y: 20 });
    commenter.provider.setAwarenessField("pointer", { x: 1, y: 2 });
    await waitFor(() => stateAt(writer, reader.doc.clientID)?.pointer?.x === 10, 5000, "reader's pointer");
    await waitFor(() => stateAt(writer, commenter.doc.clientID)?.user?.id === "commenter", 5000, "commenter");
    expect(stateAt(writer, commenter.doc.clientID)).to.deep.equal({
      user: { id: "commenter", name: "Commenter", color: colorForUser("commenter") },
    });
  });

  it("throttles a flooding client to the configured rate, coalescing to its latest state", async () => {
    const observer = await connect("observer");
    const counts = { updates: 0 };
    observer.provider.awareness!.on("update", ({ added, updated }: { added: number[]; updated: number[] }) => {
      if (added.includes(31337) || updated.includes(31337)) counts.updates += 1;
    });
    const flooder = await raw("flooder");
    const started = performance.now();
    let clock = 0;
    // ~1000 updates/s for one second, one frame at a time.
    while (performance.now() - started < 1000) {
      clock += 1;
      flooder.send(awarenessFrame(room, [{ clientId: 31337, clock, state: { presence: { n: clock } } }]));
      await new Promise((r) => setTimeout(r, 1));
    }
    const sentFor = (performance.now() - started) / 1000;
    await waitFor(() => stateAt(observer, 31337)?.presence?.n === clock, 5000, "the flooder's last state");
    const heldFor = (performance.now() - started) / 1000;
    expect(clock).to.be.greaterThan(300);
    // 60/s plus the burst of 6, over the time it took until the last state arrived.
    expect(counts.updates).to.be.at.most(Math.ceil(60 * heldFor) + 6);
    expect(counts.updates).to.be.at.least(Math.floor(30 * sentFor));
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    const throttled = Number(/syncforge_awareness_updates_throttled_total (\d+)/.exec(metrics)?.[1] ?? 0);
    expect(throttled).to.be.greaterThan(clock - counts.updates - 10);
  });
  it("forwards renewals (a state unchanged but for its clock) batched, a change in between winning", async () => {
    const observer = await raw("observer");
    const alice = await raw("user-a");
    const carol = await raw("user-c");
    const messages = () => awarenessMessages(observer);
    const latest = (id: number) => messages().flat().filter((e) => e.id === id).at(-1);
    alice.send(awarenessFrame(room, [{ clientId: 1001, clock: 1, state: { presence: { a: 1 } } }]));
    carol.send(awarenessFrame(room, [{ clientId: 1002, clock: 1, state: { presence: { c: 1 } } }]));
    await waitFor(() => latest(1001)?.clock === 1 && latest(1002)?.clock === 1, 5000, "both first states");
    const before = messages().length;

    // Two renewals 100 ms apart: sent one by one, they would be two messages.
    alice.send(awarenessFrame(room, [{ clientId: 1001, clock: 2, state: { presence: { a: 1 } } }]));
    await new Promise((resolve) => setTimeout(resolve, 100));
    carol.send(awarenessFrame(room, [{ clientId: 1002, clock: 2, state: { presence: { c: 1 } } }]));
    await waitFor(() => latest(1001)?.clock === 2 && latest(1002)?.clock === 2, RENEWAL_BATCH_MS + 4000, "the renewals");
    const renewals = messages().slice(before);
    expect(renewals).to.have.length(1);
    expect(renewals[0]!.map((e) => [e.id, e.clock, e.state!.presence])).to.have.deep.members([
      [1001, 2, { a: 1 }],
      [1002, 2, { c: 1 }],
    ]);
    expect(renewals[0]![0]!.state!.user.id).to.be.oneOf(["user-a", "user-c"]);

    // A change right after a renewal goes out at once, and the renewal never overwrites it.
    const mark = messages().length;
    alice.send(awarenessFrame(room, [{ clientId: 1001, clock: 3, state: { presence: { a: 1 } } }]));
    alice.send(awarenessFrame(room, [{ clientId: 1001, clock: 4, state: { presence: { a: 2 } } }]));
    await waitFor(() => latest(1001)?.clock === 4, 5000, "the change");
    await new Promise((resolve) => setTimeout(resolve, RENEWAL_BATCH_MS + 300));
    expect(latest(1001)).to.deep.include({ clock: 4 });
    expect(latest(1001)!.state!.presence).to.deep.equal({ a: 2 });
    expect(messages().slice(mark).flat().map((e) => e.clock)).to.deep.equal([4]);
  });
  it("sends waiting renewals along with the room's next change, not in a message of their own", async () => {
    const observer = await raw("observer");
    const alice = await raw("user-a");
    const carol = await raw("user-c");
    const messages = () => awarenessMessages(observer).map((entries) => entries.map(({ id, clock }) => ({ id, clock })));
    const latest = (id: number) => messages().flat().filter((e) => e.id === id).at(-1);
    alice.send(awarenessFrame(room, [{ clientId: 1101, clock: 1, state: { presence: { a: 1 } } }]));
    carol.send(awarenessFrame(room, [{ clientId: 1102, clock: 1, state: { presence: { c: 1 } } }]));
    await waitFor(() => latest(1101)?.clock === 1 && latest(1102)?.clock === 1, 5000, "both first states");
    const before = messages().length;

    // Carol renews; Alice changes her state well before the renewal flush would run.
    carol.send(awarenessFrame(room, [{ clientId: 1102, clock: 2, state: { presence: { c: 1 } } }]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    alice.send(awarenessFrame(room, [{ clientId: 1101, clock: 2, state: { presence: { a: 2 } } }]));
    await waitFor(() => latest(1101)?.clock === 2, RENEWAL_BATCH_MS / 2, "Alice's change, before the renewal flush");
    expect(messages().slice(before)).to.have.length(1);
    expect(messages().slice(before)[0]).to.have.deep.members([
      { id: 1102, clock: 2 },
      { id: 1101, clock: 2 },
    ]);
    // Nothing more when the renewal flush would have run.
    await new Promise((resolve) => setTimeout(resolve, RENEWAL_BATCH_MS + 300));
    expect(messages().slice(before)).to.have.length(1);
  });
  it("still recognises a renewal after the state grew and shrank (the kept bytes are compared, not the buffer)", async () => {
    const observer = await raw("observer");
    const alice = await raw("user-a");
    const renewalsCounted = async () => {
      const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
      return Number(/syncforge_awareness_renewals_total (\d+)/.exec(metrics)?.[1] ?? 0);
    };
    const clockAt = (id: number) => readAwarenessFrames(observer).filter((e) => e.id === id).at(-1)?.clock;
    const states = [{ a: 1 }, { a: "a much longer state than the first one" }, { a: 2 }];
    for (const [i, presence] of states.entries()) {
      alice.send(awarenessFrame(room, [{ clientId: 4001, clock: i + 1, state: { presence } }]));
      await waitFor(() => clockAt(4001) === i + 1, 5000, `state ${i + 1}`);
    }
    const before = await renewalsCounted();
    // Same bytes as the last state ({ a: 2 }), which is shorter than the buffer holding it.
    alice.send(awarenessFrame(room, [{ clientId: 4001, clock: 4, state: { presence: { a: 2 } } }]));
    await waitFor(() => clockAt(4001) === 4, RENEWAL_BATCH_MS + 4000, "the renewal");
    expect(await renewalsCounted()).to.equal(before + 1);
    // Same length as the last state, other bytes: a change, not a renewal.
    alice.send(awarenessFrame(room, [{ clientId: 4001, clock: 5, state: { presence: { a: 3 } } }]));
    await waitFor(() => clockAt(4001) === 5, 5000, "the change");
    expect(await renewalsCounted()).to.equal(before + 1);
  });
  it("delivers every state a client sends, also when the server reads several of them in one turn", async () => {
    const observer = await raw("observer");
    const alice = await raw("user-a");
    const clocksAt = () => readAwarenessFrames(observer).filter((e) => e.id === 5001).map((e) => e.clock);
    alice.send(awarenessFrame(room, [{ clientId: 5001, clock: 1, state: { presence: { n: 1 } } }]));
    await waitFor(() => clocksAt().includes(1), 5000, "the first state");
    // Three frames in one TCP write: the server reads them in one turn. The first is sent at once, the
    // second waits for the end of the turn, and the third must not overwrite it before it is sent.
    const socket = (alice.ws as unknown as { _socket: import("node:net").Socket })._socket;
    socket.cork();
    for (const clock of [2, 3, 4]) alice.send(awarenessFrame(room, [{ clientId: 5001, clock, state: { presence: { n: clock } } }]));
    socket.uncork();
    await waitFor(() => clocksAt().includes(4), 5000, "the last state");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(clocksAt()).to.deep.equal([1, 2, 3, 4]);
  });
  it("does not echo a connection's own awareness back to it; another session on the same socket still gets it", async () => {
    const observer = await raw("observer");
    const alice = await raw("user-a");
    const token = await mintToken({ userId: "user-s", userInfo: { name: "S" } });
    const sessions = await openRawSocket(server.collabUrl);
    sockets.push(sessions);
    for (const address of [`${room}\u0000s1`, `${room}\u0000s2`]) sessions.send(authFrame(address, token));
    await waitFor(() => sessions.received.filter((f) => frameType(f).type === MessageType.Auth).length >= 2, 5000, "both sessions authenticated");
    /** Client ids of the awareness frames `socket` received, by message address. */
    const awarenessAt = (socket: RawSocket) =>
      socket.received.flatMap((frame) => {
        const { address, type } = frameType(frame);
        return type === MessageType.Awareness ? [...readAwarenessFrame(frame)!.keys()].map((id) => `${address}:${id}`) : [];
      });

    alice.send(awarenessFrame(room, [{ clientId: 3001, clock: 1, state: { presence: { a: 1 } } }]));
    sessions.send(awarenessFrame(`${room}\u0000s1`, [{ clientId: 3002, clock: 1, state: { presence: { s: 1 } } }]));
    await waitFor(() => awarenessAt(observer).includes(`${room}:3001`) && awarenessAt(observer).includes(`${room}:3002`), 5000, "both states at the observer");
    await waitFor(() => awarenessAt(sessions).includes(`${room}\u0000s2:3002`), 5000, "session 1's state at session 2");
    // Anything still in flight to the senders arrives before the observer's own marker does.
    observer.send(awarenessFrame(room, [{ clientId: 3003, clock: 1, state: { presence: { marker: true } } }]));
    await waitFor(() => awarenessAt(alice).includes(`${room}:3003`) && awarenessAt(sessions).includes(`${room}\u0000s1:3003`), 5000, "the marker");
    expect(awarenessAt(alice)).to.not.include(`${room}:3001`);
    expect(awarenessAt(sessions)).to.not.include(`${room}\u0000s1:3002`);
    expect(awarenessAt(sessions)).to.include(`${room}\u0000s1:3001`);
  });
  it("a second update in the same event-loop turn goes out at its end, still without the echo", async () => {
    const roomB = `${room}-b`;
    const observerA = await raw("observer-a");
    const observerB = await openRawSocket(server.collabUrl);
    sockets.push(observerB);
    observerB.send(authFrame(roomB, await mintToken({ userId: "observer-b", userInfo: { name: "B" } })));
    await waitForAuthenticated(observerB);
    const sender = await openRawSocket(server.collabUrl);
    sockets.push(sender);
    const token = await mintToken({ userId: "user-s", userInfo: { name: "S" } });
    for (const address of [room, roomB]) sender.send(authFrame(address, token));
    await waitFor(() => sender.received.filter((f) => frameType(f).type === MessageType.Auth).length >= 2, 5000, "both rooms authenticated");
    const seen = (socket: RawSocket, address: string, id: number) =>
      socket.received.some((f) => frameType(f).address === address && frameType(f).type === MessageType.Awareness && readAwarenessFrame(f)!.has(id));
    // One TCP write, so the server reads and applies both in one turn: the first is flushed at once, the second at the turn's end.
    const tcp = (sender.ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    tcp.cork();
    sender.send(awarenessFrame(room, [{ clientId: 4001, clock: 1, state: { presence: { a: 1 } } }]));
    sender.send(awarenessFrame(roomB, [{ clientId: 4002, clock: 1, state: { presence: { b: 1 } } }]));
    tcp.uncork();
    await waitFor(() => seen(observerA, room, 4001) && seen(observerB, roomB, 4002), 5000, "both updates at their rooms");
    observerA.send(awarenessFrame(room, [{ clientId: 4003, clock: 1, state: { presence: { marker: true } } }]));
    observerB.send(awarenessFrame(roomB, [{ clientId: 4004, clock: 1, state: { presence: { marker: true } } }]));
    await waitFor(() => seen(sender, room, 4003) && seen(sender, roomB, 4004), 5000, "the markers");
    expect(seen(sender, room, 4001)).to.equal(false);
    expect(seen(sender, roomB, 4002)).to.equal(false);
  });
});
