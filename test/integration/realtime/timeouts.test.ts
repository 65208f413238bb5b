/**
 * The socket edge's timeouts (server/realtime/socket-edge.ts), on /collab and /yjs: a socket with no
 * authenticated document within CONNECTION_TIMEOUT_MS of opening is closed with 4408, however much
 * it sends; an authenticated one is closed after CONNECTION_TIMEOUT_MS without a message, and
 * awareness alone — which never reaches Hocuspocus — keeps it open.
 */
import { expect } from "chai";
import * as encoding from "lib0/encoding";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { closedWith } from "../../helpers/accounts.ts";
import { openRawSocket, authFrame, syncStep1Frame, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { awarenessFrame, awarenessUpdate } from "../../helpers/awareness.ts";
import { CloseCodes } from "../../../protocol/close-codes.ts";
import { MessageType } from "../../../protocol/messages.ts";

const TIMEOUT_MS = 800;
const ROOM = "idle";

/** A y-websocket awareness message (no address). */
function ywsAwareness(clock: number): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.Awareness);
  encoding.writeVarUint8Array(e, awarenessUpdate([{ clientId: 777, clock, state: { clock } }]));
  return encoding.toUint8Array(e);
}

describe("connection timeouts at the socket edge", function () {
  this.timeout(30_000);
  let server: TestServer;
  let token: string;
  const sockets: RawSocket[] = [];
  const timers: NodeJS.Timeout[] = [];

  before(async () => {
    server = await startServer({ CONNECTION_TIMEOUT_MS: String(TIMEOUT_MS) });
    await truncateAll();
    token = await mintToken({ orgId: "org-timeouts" });
  });
  afterEach(async () => {
    while (timers.length) clearInterval(timers.pop());
    while (sockets.length) await sockets.pop()!.close();
  });
  after(async () => {
    await server?.close();
  });

  async function open(url: string): Promise<RawSocket> {
    const socket = await openRawSocket(url);
    sockets.push(socket);
    return socket;
  }

  function every(ms: number, send: (n: number) => void): void {
    let n = 0;
    timers.push(setInterval(() => send(++n), ms));
  }

  async function expectTimeout(socket: RawSocket, notBefore: number, what: string): Promise<void> {
    const close = await closedWith(socket.closed, TIMEOUT_MS * 6);
    expect(close, what).to.deep.equal(CloseCodes.ConnectionTimeout);
    expect(Date.now(), `${what}: not before the timeout`).to.be.at.least(notBefore);
  }

  it("closes a /collab socket that authenticates nothing in time with 4408, even while it keeps sending", async () => {
    const silent = await open(server.collabUrl);
    const busy = await open(server.collabUrl);
    const openedAt = Date.now();
    // Held until an Auth message that never comes: traffic, but no authenticated document.
    every(50, () => busy.send(syncStep1Frame(ROOM)));
    await expectTimeout(silent, openedAt + TIMEOUT_MS - 50, "a silent socket");
    await expectTimeout(busy, openedAt + TIMEOUT_MS - 50, "a socket sending only unauthenticated frames");
  });

  it("keeps an authenticated /collab socket open while awareness arrives, and closes it 4408 once nothing does", async () => {
    const socket = await open(server.collabUrl);
    socket.send(authFrame(ROOM, token));
    await waitForAuthenticated(socket);
    socket.send(syncStep1Frame(ROOM));
    every(100, (n) => socket.send(awarenessFrame(ROOM, [{ clientId: 4242, clock: n, state: { n } }])));
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 3));
    expect(socket.ws.readyState, "open while awareness arrives").to.equal(socket.ws.OPEN);
    clearInterval(timers.pop());
    const lastSentAt = Date.now();
    await expectTimeout(socket, lastSentAt + TIMEOUT_MS - 150, "an idle authenticated socket");
  });

  it("on /yjs: keeps a socket open while awareness arrives, closes it 4408 when idle", async () => {
    const url = `${server.collabUrl.replace(/\/collab$/, "/yjs")}/${ROOM}?token=${encodeURIComponent(token)}`;
    const talking = await open(url);
    const silent = await open(url);
    const openedAt = Date.now();
    every(100, (n) => talking.send(ywsAwareness(n)));
    await expectTimeout(silent, openedAt + TIMEOUT_MS - 50, "a silent /yjs socket");
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 2));
    expect(talking.ws.readyState, "open while awareness arrives").to.equal(talking.ws.OPEN);
    clearInterval(timers.pop());
    const lastSentAt = Date.now();
    await expectTimeout(talking, lastSentAt + TIMEOUT_MS - 150, "an idle /yjs socket");
  });
});
