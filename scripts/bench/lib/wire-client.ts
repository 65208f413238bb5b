/**
 * A lightweight Hocuspocus client for benchmarks that need tens of thousands of connections in one
 * process, where a HocuspocusProvider and a Y.Doc per connection would make the clients, not the
 * server, the bottleneck. It speaks the same wire protocol as the provider over one raw `ws` socket
 * (messages are varString(address) · varUint(type) · payload, as in protocol/messages.ts):
 *
 *   → Auth(token)                 ← Auth Authenticated (or PermissionDenied: fail)
 *   → Sync step 1 (state vector)  ← Sync step 2 (what we lack) and the server's Sync step 1
 *   → Sync step 2 (what the server lacks: nothing, for a reader)          = synced
 *   ← Sync update …               handed to `onUpdate` undecoded, with its arrival time
 *
 * A client may carry a Y.Doc (a room's writer): then it applies what it receives and answers the
 * server's step 1 from it, as a provider does. A reader has no document; it answers step 1 with an
 * empty update, which is exactly what a provider with nothing new sends. `keepAlive` re-runs step 1
 * (as the provider's `forceSyncInterval` does): both SyncForge and Hocuspocus close a socket that
 * has sent nothing for 30 s, and a provider's awareness renewals are what normally prevent that.
 */
import WebSocket from "ws";
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import { MessageType, SyncStep } from "../../../protocol/messages.ts";

/** @hocuspocus/common AuthMessageType. */
const AuthReply = { Token: 0, PermissionDenied: 1, Authenticated: 2 } as const;
/** An update with no structs and no deletions. */
const EMPTY_UPDATE = new Uint8Array([0, 0]);
const EMPTY_STATE_VECTOR = new Uint8Array([0]);

export type WireState = "connecting" | "authenticating" | "syncing" | "synced" | "closed";

export interface WireClientOptions {
  url: string;
  /** The room: the message address. */
  room: string;
  token: string;
  /** Source address of the TCP connection (spreads sockets over 127.0.0.x past the ephemeral port range). */
  localAddress?: string;
  /** A writer's document; readers leave it out. */
  doc?: Y.Doc;
  /** A document update broadcast to this connection, with `performance.now()` at its arrival. */
  onUpdate?: (update: Uint8Array, receivedAt: number) => void;
  /** Every message's type (MessageType), for counting what a server sends besides updates. */
  onFrame?: (type: number) => void;
  /** The socket closed after it had synced (a drop, not our own close). */
  onDrop?: (code: number, reason: string) => void;
}

export class WireClient {
  state: WireState = "connecting";
  private readonly ws: WebSocket;
  private readonly options: WireClientOptions;
  private readonly prefix: Uint8Array;
  private closing = false;
  private settle: { resolve: () => void; reject: (error: Error) => void } | null = null;

  private constructor(options: WireClientOptions) {
    this.options = options;
    const e = encoding.createEncoder();
    encoding.writeVarString(e, options.room);
    this.prefix = encoding.toUint8Array(e);
    this.ws = new WebSocket(options.url, { perMessageDeflate: false, localAddress: options.localAddress });
    this.ws.binaryType = "nodebuffer";
    this.ws.on("open", () => {
      this.state = "authenticating";
      this.send(MessageType.Auth, (m) => {
        encoding.writeVarUint(m, AuthReply.Token);
        encoding.writeVarString(m, options.token);
      });
    });
    this.ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.receive(data);
    });
    this.ws.on("unexpected-response", (_request, response) => this.fail(new Error(`upgrade refused: ${response.statusCode}`)));
    // An error is followed by "close"; the close handler reports it.
    this.ws.on("error", (error) => this.fail(error));
    this.ws.on("close", (code, reason) => {
      const wasSynced = this.state === "synced";
      this.state = "closed";
      this.fail(new Error(`closed before syncing: ${code} ${reason.toString()}`));
      if (wasSynced && !this.closing) this.options.onDrop?.(code, reason.toString());
    });
  }

  /** Open, authenticate and sync; rejects on refusal, close or `timeoutMs`. */
  static async connect(options: WireClientOptions, timeoutMs = 30_000): Promise<WireClient> {
    const client = new WireClient(options);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => client.fail(new Error(`not synced within ${timeoutMs} ms`)), timeoutMs);
      client.settle = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    }).catch((error: unknown) => {
      client.close();
      throw error;
    });
    return client;
  }

  /** Send Sync step 1 with the given state vector (the room's current one, so the answer is small). */
  syncStep1(stateVector: Uint8Array = this.options.doc ? Y.encodeStateVector(this.options.doc) : EMPTY_STATE_VECTOR): void {
    this.send(MessageType.Sync, (m) => {
      encoding.writeVarUint(m, SyncStep.Step1);
      encoding.writeVarUint8Array(m, stateVector);
    });
  }

  /** Send a document update (a writer's own change). */
  sendUpdate(update: Uint8Array): void {
    this.send(MessageType.Sync, (m) => {
      encoding.writeVarUint(m, SyncStep.Update);
      encoding.writeVarUint8Array(m, update);
    });
  }

  close(): void {
    this.closing = true;
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }

  private send(type: number, body: (e: encoding.Encoder) => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const e = encoding.createEncoder();
    encoding.writeUint8Array(e, this.prefix);
    encoding.writeVarUint(e, type);
    body(e);
    this.ws.send(encoding.toUint8Array(e));
  }

  private fail(error: Error): void {
    const settle = this.settle;
    this.settle = null;
    settle?.reject(error);
  }

  private receive(data: Buffer): void {
    const receivedAt = performance.now();
    let d: decoding.Decoder;
    let type: number;
    try {
      d = decoding.createDecoder(data);
      const addressLength = decoding.readVarUint(d);
      d.pos += addressLength;
      type = decoding.readVarUint(d);
    } catch {
      return; // e.g. the server's one-byte Ping: nothing for a document
    }
    this.options.onFrame?.(type);
    if (type === MessageType.Auth) {
      const sub = decoding.readVarUint(d);
      if (sub === AuthReply.Authenticated && this.state === "authenticating") {
        this.state = "syncing";
        this.syncStep1();
      } else if (sub === AuthReply.PermissionDenied) {
        this.fail(new Error(`permission denied: ${decoding.hasContent(d) ? decoding.readVarString(d) : ""}`));
        this.close();
      }
      return;
    }
    if (type !== MessageType.Sync && type !== MessageType.SyncReply) return;
    const step = decoding.readVarUint(d);
    const payload = decoding.readVarUint8Array(d);
    const doc = this.options.doc;
    if (step === SyncStep.Step1) {
      const answer = doc ? Y.encodeStateAsUpdate(doc, payload) : EMPTY_UPDATE;
      this.send(MessageType.Sync, (m) => {
        encoding.writeVarUint(m, SyncStep.Step2);
        encoding.writeVarUint8Array(m, answer);
      });
    } else if (step === SyncStep.Step2) {
      if (doc) Y.applyUpdate(doc, payload, this);
      if (this.state === "syncing") {
        this.state = "synced";
        const settle = this.settle;
        this.settle = null;
        settle?.resolve();
      }
    } else if (step === SyncStep.Update) {
      if (doc) Y.applyUpdate(doc, payload, this);
      this.options.onUpdate?.(payload, receivedAt);
    }
  }
}
