/**
 * Bad input on /collab closes only the connection that sent it, with a close code that says why;
 * the process, the other clients of the room and the stored document carry on unharmed.
 */
import { expect } from "chai";
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, waitForAcked, type TestProvider } from "../../helpers/clients.ts";
import { openRawSocket, authFrame, updateFrame, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { openDatabase, readStored, storedText } from "../../helpers/documents.ts";
import { MessageType } from "../../../protocol/messages.ts";
import type { Database } from "../../../db/index.ts";

const ROOM = "robust";
const ORG = "org-test";
const MAX_MESSAGE_BYTES = 4096;
// Long enough that nothing is compacted during a test, so the update log can be inspected.
const env = { STORE_DEBOUNCE_MS: "60000", STORE_MAX_DEBOUNCE_MS: "120000", MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) };

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

function addressOnly(address: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, address);
  return encoding.toUint8Array(e);
}

function typedFrame(address: string, type: number, ...rest: number[]): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, address);
  encoding.writeVarUint(e, type);
  for (const b of rest) encoding.writeUint8(e, b);
  return encoding.toUint8Array(e);
}

/** A sync update with a well-formed frame around an update Yjs refuses (an unknown content type). */
const UPDATE_YJS_REJECTS = bytes(1, 1, 7, 0, 0x1f, 1, 0, 0);

describe("malformed input on /collab", function () {
  this.timeout(30_000);
  let server: TestServer;
  let db: Database;
  let token: string;
  const clients: TestProvider[] = [];
  const sockets: RawSocket[] = [];
  let a: TestProvider;
  let b: TestProvider;

  before(async () => {
    server = await startServer(env);
    await truncateAll();
    db = openDatabase(testDatabaseUrl());
    token = await mintToken({ orgId: ORG });
  });
  after(async () => {
    await server?.close();
    await db?.close();
  });

  beforeEach(async () => {
    a = connectProvider(server.collabUrl, ROOM, token);
    b = connectProvider(server.collabUrl, ROOM, token);
    clients.push(a, b);
    await Promise.all([waitForSynced(a), waitForSynced(b)]);
  });
  afterEach(async () => {
    while (clients.length) clients.pop()!.destroy();
    while (sockets.length) await sockets.pop()!.close();
  });

  async function raw(authenticated: boolean): Promise<RawSocket> {
    const socket = await openRawSocket(server.collabUrl);
    sockets.push(socket);
    if (authenticated) {
      socket.send(authFrame(ROOM, token));
      await waitForAuthenticated(socket);
    }
    return socket;
  }

  /** The server still serves HTTP and the room's providers keep editing and converging. */
  async function roomCarriesOn(marker: string): Promise<void> {
    const health = await fetch(`${server.httpUrl}/health`);
    expect(health.status).to.equal(200);
    a.text.insert(a.text.length, `${marker}-a `);
    b.text.insert(0, `${marker}-b `);
    await waitFor(
      () => a.text.toString() === b.text.toString() && a.text.toString().includes(`${marker}-a`) && a.text.toString().includes(`${marker}-b`),
      5000,
      "the other clients to converge",
    );
    expect(a.socket.status, "provider A is still connected").to.equal("connected");
    expect(b.socket.status, "provider B is still connected").to.equal("connected");
  }

  const cases: Array<{ name: string; authenticated: boolean; frame: () => Uint8Array | string; code: number }> = [
    { name: "garbage bytes", authenticated: false, frame: () => bytes(0xff, 0xfe, 0xfd, 0xfc, 0x13, 0x37, 0x00, 0x42), code: 4400 },
    { name: "a truncated varint", authenticated: false, frame: () => bytes(0x80), code: 4400 },
    { name: "a truncated varint after authenticating", authenticated: true, frame: () => bytes(0x86, 0x80), code: 4400 },
    { name: "an address with no type", authenticated: true, frame: () => addressOnly(ROOM), code: 4400 },
    { name: "a sync message with no payload", authenticated: true, frame: () => typedFrame(ROOM, MessageType.Sync), code: 4400 },
    { name: "a sync update whose length runs past the end", authenticated: true, frame: () => typedFrame(ROOM, MessageType.Sync, 2, 50, 1, 1), code: 4400 },
    { name: "an unknown message type", authenticated: true, frame: () => typedFrame(ROOM, 77), code: 4400 },
    { name: "a server-internal message type", authenticated: true, frame: () => typedFrame(ROOM, MessageType.BroadcastStateless, 1, 0x41), code: 4400 },
    { name: "an awareness update that is not JSON", authenticated: true, frame: () => typedFrame(ROOM, MessageType.Awareness, 5, 1, 7, 1, 1, 0x7b), code: 4400 },
    { name: "a sync update that Yjs rejects", authenticated: true, frame: () => updateFrame(ROOM, UPDATE_YJS_REJECTS), code: 4400 },
    { name: "a text frame", authenticated: true, frame: () => "hello", code: 1003 },
    { name: "a frame over MAX_MESSAGE_BYTES", authenticated: true, frame: () => new Uint8Array(MAX_MESSAGE_BYTES + 1), code: 1009 },
  ];

  for (const c of cases) {
    it(`${c.name} closes only that connection with ${c.code}`, async () => {
      const bystander = await raw(true);
      const socket = await raw(c.authenticated);
      socket.send(c.frame());
      const { code } = await socket.closed;
      expect(code).to.equal(c.code);
      await roomCarriesOn(c.name.replace(/\W+/g, "-"));
      expect(bystander.ws.readyState, "another raw socket stays open").to.equal(1);
    });
  }

  it("a rejected update reaches neither the update log nor the other clients", async () => {
    a.text.insert(0, "kept ");
    await waitForAcked(a);
    const socket = await raw(true);
    socket.send(updateFrame(ROOM, UPDATE_YJS_REJECTS));
    expect((await socket.closed).code).to.equal(4400);
    await roomCarriesOn("after-reject");
    const stored = await readStored(db, ORG, ROOM);
    expect(stored.log.length).to.be.greaterThan(0);
    for (const row of stored.log) {
      expect(() => Y.decodeUpdate(row.data), `log row ${row.id} is a readable update`).not.to.throw();
    }
    expect(storedText(stored)).to.equal(a.text.toString());
  });

  it("the stored document loads intact after a restart", async () => {
    a.text.insert(0, "durable ");
    await waitForAcked(a);
    const socket = await raw(true);
    socket.send(updateFrame(ROOM, UPDATE_YJS_REJECTS));
    await socket.closed;
    await waitForAcked(a);
    const expected = a.text.toString();
    while (clients.length) clients.pop()!.destroy();
    await server.close();
    server = await startServer(env);
    const fresh = connectProvider(server.collabUrl, ROOM, token);
    clients.push(fresh);
    await waitForSynced(fresh);
    expect(fresh.text.toString()).to.equal(expected);
    // beforeEach of the next test (if any) needs two clients again on the new server.
  });
});
