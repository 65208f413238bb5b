/**
 * A room's presence (server/realtime/presence/) driven through the hub and per-socket presence the
 * socket edges use, with fake transports and connections: ownership, stamping, rate limit, ordering,
 * end-of-turn batching, renewals, echo skip, leaving, and states from other processes.
 */
import { expect } from "chai";
import * as decoding from "lib0/decoding";
import { PresenceHub } from "../../../../server/realtime/presence/presence-hub.ts";
import { RENEWAL_BATCH_MS } from "../../../../server/realtime/presence/presence-room.ts";
import type { PresenceRelay, RelayEntry, RelayHandlers } from "../../../../server/realtime/presence/presence-relay.ts";
import { createDetachedRealtimeMetrics, type RealtimeMetrics } from "../../../../server/metrics.ts";
import { colorForUser, readAwarenessEntries } from "../../../../server/realtime/awareness.ts";
import { toDocumentName } from "../../../../protocol/document-name.ts";
import { MessageType } from "../../../../protocol/messages.ts";
import { awarenessUpdate, type RawState } from "../../../helpers/awareness.ts";

type State = Record<string, any> | null;
type Received = Map<number, { clock: number; state: State }>;

/** A whole /collab message (addressed) or a /yjs body. */
function decode(bytes: Uint8Array, addressed: boolean): { address: string; entries: Received } {
  const decoder = decoding.createDecoder(bytes);
  const address = addressed ? decoding.readVarString(decoder) : "";
  expect(decoding.readVarUint(decoder)).to.equal(MessageType.Awareness);
  const entries = readAwarenessEntries(decoding.readVarUint8Array(decoder));
  return { address, entries: new Map(entries.map((e) => [e.clientId, { clock: e.clock, state: JSON.parse(Buffer.from(e.raw).toString()) as State }])) };
}

const NAME = toDocumentName("org-1", "demo");
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A relay that records what the room publishes and hands the test the hub's handlers. */
function fakeRelay() {
  const relay = {
    handlers: null as RelayHandlers | null,
    published: [] as RelayEntry[][],
    joined: [] as string[],
    left: [] as string[],
    create(handlers: RelayHandlers): PresenceRelay {
      relay.handlers = handlers;
      return {
        join: (name) => relay.joined.push(name),
        leave: (name) => relay.left.push(name),
        publish: (_name, entries) => relay.published.push(entries.map(({ clientId, clock, userId, json }) => ({ clientId, clock, userId, json }))),
        answer: () => {},
        publishEvent: () => {},
        close: async () => {},
      };
    },
  };
  return relay;
}

interface Member {
  socket: ReturnType<PresenceHub["socket"]>;
  sent: Uint8Array[];
  address: string;
  connection: { onClose(callback: () => void): unknown; close(): void };
  send(entries: RawState[]): void;
  messages(): Received[];
  addresses(): string[];
  close(): void;
}

function setup(options: { updatesPerSecond?: number; remoteTimeoutMs?: number; relay?: ReturnType<typeof fakeRelay> } = {}) {
  const metrics: RealtimeMetrics = createDetachedRealtimeMetrics();
  const hub = new PresenceHub({
    limits: { maxStateBytes: 1024, updatesPerSecond: options.updatesPerSecond ?? 60 },
    metrics,
    remoteTimeoutMs: options.remoteTimeoutMs,
    relay: options.relay ? (handlers) => options.relay!.create(handlers) : undefined,
  });
  const members: Array<{ close(): void }> = [];

  /** A member on a socket of its own (or of `on`'s), attached as `userId`. */
  function join(userId: string, opts: { bodyOnly?: boolean; session?: string; canWritePresence?: boolean; throwing?: boolean; on?: Member } = {}): Member {
    const sent: Uint8Array[] = opts.on?.sent ?? [];
    const socket =
      opts.on?.socket ??
      hub.socket({
        bodyOnly: opts.bodyOnly ?? false,
        send: (bytes) => {
          if (opts.throwing) throw new Error("socket gone");
          sent.push(bytes);
        },
      });
    const address = opts.session ? `${NAME}\u0000${opts.session}` : NAME;
    const closers: Array<() => void> = [];
    let open = true;
    const connection = {
      document: { name: NAME, flush() {} },
      onClose(callback: () => void) {
        closers.push(callback);
        return connection;
      },
      close() {
        if (!open) return;
        open = false;
        for (const callback of closers) callback();
      },
    };
    socket.attach(address, connection as never, { userId, userInfo: { name: userId.toUpperCase() }, access: { canWritePresence: opts.canWritePresence ?? true } });
    const member = {
      socket,
      sent,
      address,
      connection,
      send: (entries: RawState[]) => socket.receive(address, awarenessUpdate(entries)),
      /** The awareness messages this member's socket got, in order, as client id → clock and state. */
      messages: (): Received[] => sent.map((bytes) => decode(bytes, !(opts.bodyOnly ?? false)).entries),
      /** The address of each message this member's socket got. */
      addresses: (): string[] => sent.map((bytes) => decode(bytes, true).address),
      close: () => connection.close(),
    };
    members.push(member);
    return member;
  }
  return { hub, metrics, join, closeAll: () => members.forEach((m) => m.close()) };
}

describe("presence rooms (server/realtime/presence)", () => {
  let cleanup: (() => void) | null = null;
  afterEach(() => {
    cleanup?.();
    cleanup = null;
  });

  it("stamps `user` from the token, and reduces a state without presence permission to it", async () => {
    const room = setup();
    cleanup = room.closeAll;
    const observer = room.join("observer");
    const ada = room.join("ada");
    const viewer = room.join("viewer", { canWritePresence: false });
    ada.send([{ clientId: 1, clock: 1, state: { user: { id: "someone-else", name: "Eve" }, pointer: { x: 1 } } }]);
    viewer.send([{ clientId: 2, clock: 1, state: { pointer: { x: 2 } } }]);
    await nextTurn();
    const states = observer.messages().flatMap((m) => [...m]);
    expect(new Map(states).get(1)!.state).to.deep.equal({ user: { id: "ada", name: "ADA", color: colorForUser("ada") }, pointer: { x: 1 } });
    expect(new Map(states).get(2)!.state).to.deep.equal({ user: { id: "viewer", name: "VIEWER", color: colorForUser("viewer") } });
  });

  it("gives each client id one owner: another member's id, a remote one and a fifth id are dropped", async () => {
    const relay = fakeRelay();
    const room = setup({ relay });
    cleanup = room.closeAll;
    const observer = room.join("observer");
    const ada = room.join("ada");
    const mallory = room.join("mallory");
    ada.send([{ clientId: 1, clock: 1, state: { a: 1 } }]);
    relay.handlers!.update(NAME, "other-process", [{ clientId: 9, clock: 1, userId: "zed", json: '{"z":1}' }]);
    mallory.send([
      { clientId: 1, clock: 2, state: { hacked: true } },
      { clientId: 1, clock: 3, state: null },
      { clientId: 9, clock: 2, state: { hacked: true } },
    ]);
    mallory.send([10, 11, 12, 13, 14].map((clientId) => ({ clientId, clock: 1, state: { m: clientId } })));
    await nextTurn();
    const seen = observer.messages().flatMap((m) => [...m]);
    expect(seen.filter(([id]) => id === 1).map(([, e]) => e.state)).to.deep.equal([{ a: 1, user: { id: "ada", name: "ADA", color: colorForUser("ada") } }]);
    expect(seen.filter(([id]) => id === 9).map(([, e]) => e.state)).to.deep.equal([{ z: 1 }]);
    expect(seen.filter(([id]) => id >= 10).map(([id]) => id)).to.deep.equal([10, 11, 12, 13]);
    expect(room.metrics.awarenessDroppedNotOwner.value).to.equal(3);
    expect(room.metrics.awarenessDroppedTooMany.value).to.equal(1);
    expect(room.hub.ownerOf(NAME, 1)).to.equal("ada");
    expect(room.hub.ownerOf(NAME, 9)).to.equal("zed");
    expect(room.hub.ownerOf(NAME, 99)).to.equal(undefined);
  });

  it("skips the sender when a broadcast carries only its states; another session on its socket gets it; /yjs gets the body", () => {
    const room = setup();
    cleanup = room.closeAll;
    const s1 = room.join("sam", { session: "s1" });
    const s2 = room.join("sam", { session: "s2", on: s1 });
    const other = room.join("other");
    const yjs = room.join("yan", { bodyOnly: true });
    s1.send([{ clientId: 1, clock: 1, state: { a: 1 } }]);
    expect(s1.addresses(), "one message on the shared socket, for the other session").to.deep.equal(["demo\u0000s2"]);
    expect(s2.messages().map((m) => [...m.keys()])).to.deep.equal([[1]]);
    expect(other.addresses()).to.deep.equal(["demo"]);
    expect(yjs.messages().map((m) => [...m.keys()])).to.deep.equal([[1]]);
    expect(Buffer.from(yjs.sent[0]!).equals(Buffer.from(other.sent[0]!.subarray(5))), "the body is the message without its address").to.equal(true);
  });

  it("sends the first flush of a turn at once and the rest at its end, a client's older state before its newer one", async () => {
    const room = setup();
    cleanup = room.closeAll;
    const observer = room.join("observer");
    const ada = room.join("ada");
    const bob = room.join("bob");
    await nextTurn();
    ada.send([{ clientId: 1, clock: 1, state: { n: 1 } }]);
    expect(observer.messages()).to.have.length(1);
    bob.send([{ clientId: 2, clock: 1, state: { n: 1 } }]);
    ada.send([{ clientId: 1, clock: 2, state: { n: 2 } }]);
    ada.send([{ clientId: 1, clock: 3, state: { n: 3 } }]);
    // Bob's and Ada's second state wait together; Ada's third makes them go out first.
    expect(observer.messages().map((m) => [...m.keys()].sort())).to.deep.equal([[1], [1, 2]]);
    await nextTurn();
    expect(observer.messages().map((m) => [...m].map(([id, e]) => `${id}@${e.clock}`))).to.deep.equal([["1@1"], ["2@1", "1@2"], ["1@3"]]);
  });

  it("limits each member's rate, coalescing to the latest state and sending it when the bucket allows", async () => {
    const room = setup({ updatesPerSecond: 20 }); // burst of 2, one more every 50 ms
    cleanup = room.closeAll;
    const observer = room.join("observer");
    const ada = room.join("ada");
    for (let clock = 1; clock <= 10; clock++) {
      ada.send([{ clientId: 1, clock, state: { n: clock } }]);
      await nextTurn();
    }
    expect(observer.messages().map((m) => m.get(1)!.clock)).to.deep.equal([1, 2]);
    await sleep(80);
    expect(observer.messages().map((m) => m.get(1)!.clock)).to.deep.equal([1, 2, 10]);
    expect(room.metrics.awarenessThrottled.value).to.be.at.least(8);
  });

  it("applies a state only after the document messages its member sent before it (bounded wait)", () => {
    const room = setup();
    cleanup = room.closeAll;
    const observer = room.join("observer");
    const ada = room.join("ada");
    ada.socket.countDocumentMessage(ada.address);
    ada.socket.countDocumentMessage(ada.address);
    ada.send([{ clientId: 1, clock: 1, state: { n: 1 } }]);
    expect(observer.sent).to.have.length(0);
    room.hub.processed(ada.connection as never);
    expect(observer.sent).to.have.length(0);
    room.hub.processed(ada.connection as never);
    expect(observer.messages().map((m) => m.get(1)!.clock)).to.deep.equal([1]);
  });

  it("batches renewals into one message, or sends them along with the room's next change", async () => {
    const room = setup();
    cleanup = room.closeAll;
    const observer = room.join("observer");
    const ada = room.join("ada");
    const bob = room.join("bob");
    ada.send([{ clientId: 1, clock: 1, state: { a: 1 } }]);
    bob.send([{ clientId: 2, clock: 1, state: { b: 1 } }]);
    await nextTurn();
    const before = observer.sent.length;
    ada.send([{ clientId: 1, clock: 2, state: { a: 1 } }]);
    bob.send([{ clientId: 2, clock: 2, state: { b: 1 } }]);
    expect(observer.sent.length, "renewals wait").to.equal(before);
    await sleep(RENEWAL_BATCH_MS + 50);
    expect(observer.messages().slice(before).map((m) => [...m].map(([id, e]) => `${id}@${e.clock}`))).to.deep.equal([["1@2", "2@2"]]);
    expect(room.metrics.awarenessRenewals.value).to.equal(2);

    const mark = observer.sent.length;
    const bobHad = bob.sent.length;
    ada.send([{ clientId: 1, clock: 3, state: { a: 1 } }]);
    bob.send([{ clientId: 2, clock: 3, state: { b: 2 } }]);
    expect(observer.messages().slice(mark).map((m) => [...m].map(([id, e]) => `${id}@${e.clock}`))).to.deep.equal([["1@3", "2@3"]]);
    expect(bob.sent.length, "a message with another member's renewal reaches the changing member too").to.equal(bobHad + 1);
  });

  it("sends a joining member the room's states and answers a query; removes a leaving member's states everywhere", async () => {
    const relay = fakeRelay();
    const room = setup({ relay });
    cleanup = room.closeAll;
    const ada = room.join("ada");
    expect(relay.joined).to.deep.equal([NAME]);
    ada.send([{ clientId: 1, clock: 5, state: { a: 1 } }]);
    expect(relay.published.at(-1)!.map((e) => [e.clientId, e.clock, e.userId])).to.deep.equal([[1, 5, "ada"]]);
    const late = room.join("late");
    expect(late.messages().map((m) => m.get(1)!.clock)).to.deep.equal([5]);
    late.socket.query(late.address);
    expect(late.messages()).to.have.length(2);

    ada.close();
    await nextTurn();
    expect(late.messages().at(-1)!.get(1)).to.deep.equal({ clock: 6, state: null });
    expect(relay.published.at(-1)).to.deep.equal([{ clientId: 1, clock: 6, userId: "ada", json: "null" }]);
    expect(room.hub.ownerOf(NAME, 1)).to.equal(undefined);
    late.close();
    expect(relay.left).to.deep.equal([NAME]);
  });

  it("closes a connection whose transport throws; the other members still get the message", async () => {
    const room = setup();
    cleanup = room.closeAll;
    const broken = room.join("broken", { throwing: true });
    let closed = false;
    broken.connection.onClose(() => (closed = true));
    const observer = room.join("observer");
    const ada = room.join("ada");
    ada.send([{ clientId: 1, clock: 1, state: { a: 1 } }]);
    expect(observer.messages(), "the member after the throwing one").to.have.length(1);
    await nextTurn();
    expect(closed).to.equal(true);
  });

  it("expires another process's states not heard of within the timeout", async () => {
    const relay = fakeRelay();
    const room = setup({ relay, remoteTimeoutMs: 400 });
    cleanup = room.closeAll;
    const observer = room.join("observer");
    relay.handlers!.update(NAME, "p2", [
      { clientId: 7, clock: 1, userId: "zed", json: '{"z":1}' },
      { clientId: 8, clock: 1, userId: "yu", json: '{"y":1}' },
    ]);
    await nextTurn();
    // 8 keeps being heard of; 7 is not.
    for (let clock = 2; clock <= 7; clock++) {
      await sleep(100);
      relay.handlers!.update(NAME, "p2", [{ clientId: 8, clock, userId: "yu", json: '{"y":1}' }]);
    }
    await sleep(50);
    const last = (id: number) => observer.messages().flatMap((m) => (m.has(id) ? [m.get(id)!] : [])).at(-1);
    expect(last(7)).to.deep.equal({ clock: 2, state: null });
    expect(last(8)!.state).to.deep.equal({ y: 1 });
    expect(room.hub.ownerOf(NAME, 7)).to.equal(undefined);
    expect([...room.hub.statesOf(NAME).keys()]).to.deep.equal([8]);
  });
});
