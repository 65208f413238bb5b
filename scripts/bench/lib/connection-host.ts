/**
 * A child process of the "connections" benchmark that holds whole rooms of wire clients
 * (wire-client.ts): per room one writer (with a Y.Doc) and `size - 1` readers. The benchmark runs
 * several hosts so that the clients get more than one event loop and their own file descriptor
 * limits, and so that a host, not the server, is never the process that runs out of either.
 *
 * A room lives in one host, writer and readers together, so a latency is one process's clock: from
 * just before the writer sends its update to a reader's socket delivering it. Driven over IPC
 * (`HostCommand` in, `HostReply` out); exits when the parent disconnects.
 */
import * as Y from "yjs";
import { WireClient } from "./wire-client.ts";
import { startPaced } from "./pace.ts";

export interface HostRoom {
  name: string;
  /** One token per connection, the writer's first. */
  tokens: string[];
}

export type HostCommand =
  | { type: "init"; url: string; localAddresses: string[]; perAddress: number; keepAliveMs: number; concurrency: number }
  | { type: "open"; rooms: HostRoom[] }
  | { type: "measure"; windowMs: number; intervalMs: number; drainMs: number }
  /** Messages received since the last "stats", "open" or "measure". */
  | { type: "stats" }
  | { type: "close" };

export type HostReply =
  | { type: "opened"; connected: number; failed: number; errors: string[]; openMs: number; frames: Record<number, number> }
  | {
      type: "measured";
      latencies: Float64Array;
      expected: number;
      received: number;
      sent: number;
      drops: number;
      open: number;
      dropCodes: string[];
      /** Messages received in the window by MessageType, updates included. */
      frames: Record<number, number>;
    }
  | { type: "stats"; frames: number }
  | { type: "error"; message: string };

interface Room {
  name: string;
  doc: Y.Doc;
  writer: WireClient;
  readers: WireClient[];
  /** Clock of each of the writer's updates in the current window → when it was sent. */
  sentAt: Map<number, number>;
  /** Clock → readers that received it. */
  receipts: Map<number, number>;
  /** Receivers in one room get the same bytes: the last payload's clock range, parsed once. */
  lastPayload: Uint8Array | null;
  lastRange: [number, number];
}

const rooms: Room[] = [];
let config: Extract<HostCommand, { type: "init" }> | null = null;
let connections = 0;
let drops = 0;
const dropCodes = new Map<string, number>();
let latencies: number[] = [];
let keepAliveTimer: NodeJS.Timeout | null = null;
/** Messages received by type since the last open or measure began. */
let frames: Record<number, number> = {};

function countFrame(type: number): void {
  frames[type] = (frames[type] ?? 0) + 1;
}

function reply(message: HostReply): void {
  process.send?.(message);
}

function localAddress(): string | undefined {
  if (!config || config.localAddresses.length === 0) return undefined;
  const index = Math.min(config.localAddresses.length - 1, Math.floor(connections / config.perAddress));
  return config.localAddresses[index];
}

function onDrop(code: number, reason: string): void {
  drops += 1;
  const key = `${code} ${reason}`.trim();
  dropCodes.set(key, (dropCodes.get(key) ?? 0) + 1);
}

/** A reader received `update`: stamp every writer clock it carries that was sent in the window. */
function onReaderUpdate(room: Room, update: Uint8Array, receivedAt: number): void {
  let range = room.lastRange;
  const last = room.lastPayload;
  if (!last || last.length !== update.length || !Buffer.from(last.buffer, last.byteOffset, last.length).equals(update)) {
    const meta = Y.parseUpdateMeta(update);
    const from = meta.from.get(room.doc.clientID);
    const to = meta.to.get(room.doc.clientID);
    range = from === undefined || to === undefined ? [0, 0] : [from, to];
    room.lastPayload = update;
    room.lastRange = range;
  }
  for (let clock = range[0]; clock < range[1]; clock += 1) {
    const sent = room.sentAt.get(clock);
    if (sent === undefined) continue;
    latencies.push(receivedAt - sent);
    room.receipts.set(clock, (room.receipts.get(clock) ?? 0) + 1);
  }
}

async function connect(url: string, name: string, token: string, room: Room | null, doc?: Y.Doc): Promise<WireClient> {
  const address = localAddress();
  connections += 1;
  return WireClient.connect({
    url,
    room: name,
    token,
    localAddress: address,
    doc,
    onDrop,
    onFrame: countFrame,
    onUpdate: room ? (update, at) => onReaderUpdate(room, update, at) : undefined,
  });
}

async function open(list: HostRoom[]): Promise<void> {
  if (!config) throw new Error("not initialised");
  const { url, concurrency } = config;
  const started = performance.now();
  frames = {};
  let connected = 0;
  let failed = 0;
  const errors: string[] = [];
  const jobs: (() => Promise<void>)[] = [];
  for (const spec of list) {
    const doc = new Y.Doc();
    // The writer first (alone, so its room exists before the readers arrive), then its readers.
    const writer = await connect(url, spec.name, spec.tokens[0]!, null, doc);
    connected += 1;
    const room: Room = { name: spec.name, doc, writer, readers: [], sentAt: new Map(), receipts: new Map(), lastPayload: null, lastRange: [0, 0] };
    doc.on("update", (update: Uint8Array, origin: unknown) => {
      if (origin !== writer) writer.sendUpdate(update);
    });
    // Kept alive from now on (keepAlive walks `rooms`): a large step takes longer to connect than the idle timeout.
    rooms.push(room);
    for (const token of spec.tokens.slice(1)) {
      jobs.push(async () => {
        try {
          room.readers.push(await connect(url, spec.name, token, room));
          connected += 1;
        } catch (error) {
          failed += 1;
          if (errors.length < 5) errors.push((error as Error).message);
        }
      });
    }
  }
  // `concurrency` handshakes in flight at a time: a burst of thousands would only fill the
  // server's accept backlog and time out, which is not what this benchmark measures.
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
  reply({ type: "opened", connected, failed, errors, openMs: performance.now() - started, frames });
}

async function measure(windowMs: number, intervalMs: number, drainMs: number): Promise<void> {
  latencies = [];
  frames = {};
  const dropsBefore = drops;
  for (const room of rooms) {
    room.sentAt.clear();
    room.receipts.clear();
  }
  let sent = 0;
  const stops = rooms.map((room) =>
    startPaced(intervalMs, Math.random() * intervalMs, () => {
      if (room.writer.state !== "synced") return;
      const text = room.doc.getText("content");
      room.sentAt.set(Y.getState(room.doc.store, room.doc.clientID), performance.now());
      sent += 1;
      text.insert(text.length, "x");
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  for (const stop of stops) stop();
  const expectedOf = () => rooms.reduce((n, r) => n + r.sentAt.size * r.readers.length, 0);
  const receivedOf = () => rooms.reduce((n, r) => n + [...r.receipts.values()].reduce((a, b) => a + b, 0), 0);
  const deadline = performance.now() + drainMs;
  while (receivedOf() < expectedOf() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const open = rooms.reduce((n, r) => n + (r.writer.state === "synced" ? 1 : 0) + r.readers.filter((c) => c.state === "synced").length, 0);
  reply({
    type: "measured",
    latencies: Float64Array.from(latencies),
    expected: expectedOf(),
    received: receivedOf(),
    sent,
    drops: drops - dropsBefore,
    open,
    dropCodes: [...dropCodes].map(([code, n]) => `${n}× ${code}`),
    frames,
  });
  latencies = [];
}

/** Every second, re-sync the connections whose turn it is, so each one sends once per keepAliveMs. */
function startKeepAlive(keepAliveMs: number): void {
  const slots = Math.max(1, Math.round(keepAliveMs / 1000));
  let tick = 0;
  keepAliveTimer = setInterval(() => {
    tick += 1;
    for (const room of rooms) {
      const vector = Y.encodeStateVector(room.doc);
      const clients = [room.writer, ...room.readers];
      for (let i = tick % slots; i < clients.length; i += slots) {
        if (clients[i]!.state === "synced") clients[i]!.syncStep1(vector);
      }
    }
  }, 1000);
}

function closeAll(): void {
  if (keepAliveTimer) clearInterval(keepAliveTimer);
  for (const room of rooms) {
    room.writer.close();
    for (const reader of room.readers) reader.close();
    room.doc.destroy();
  }
  rooms.length = 0;
}

process.on("message", (command: HostCommand) => {
  const run = async () => {
    switch (command.type) {
      case "init":
        config = command;
        startKeepAlive(command.keepAliveMs);
        return;
      case "open":
        return open(command.rooms);
      case "measure":
        return measure(command.windowMs, command.intervalMs, command.drainMs);
      case "stats": {
        const count = Object.values(frames).reduce((a, b) => a + b, 0);
        frames = {};
        reply({ type: "stats", frames: count });
        return;
      }
      case "close":
        closeAll();
        process.disconnect();
        return;
    }
  };
  run().catch((error: unknown) => reply({ type: "error", message: (error as Error).stack ?? String(error) }));
});
process.on("disconnect", () => {
  closeAll();
  process.exit(0);
});
