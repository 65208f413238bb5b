import { expect } from "chai";
import * as Y from "yjs";
import { Awareness, encodeAwarenessUpdate, applyAwarenessUpdate } from "y-protocols/awareness";
import {
  AwarenessRejected,
  colorForUser,
  parseAwarenessEntry,
  readAwarenessEntries,
  encodeAwarenessMessage,
  stampedUser,
  stampState,
  writeAwarenessUpdate,
  type AwarenessEntry,
  type StampedUser,
  USER_COLORS,
} from "../../../server/realtime/awareness.ts";
import { awarenessUpdate } from "../../helpers/awareness.ts";
import * as encoding from "lib0/encoding";
import { MessageType } from "../../../protocol/messages.ts";

function stampEntries(entries: AwarenessEntry[], user: StampedUser, canWritePresence: boolean) {
  return entries.map((e) => ({ clientId: e.clientId, clock: e.clock, json: stampState(e.state, user, canWritePresence) }));
}

describe("awareness wire format and stamping", () => {
  it("reads the entries y-protocols writes, and writes what y-protocols reads", () => {
    const doc = new Y.Doc();
    const awareness = new Awareness(doc);
    awareness.setLocalState({ cursor: { anchor: 1, head: 2 }, user: { id: "someone-else", name: "Eve" } });
    const entries = readAwarenessEntries(encodeAwarenessUpdate(awareness, [doc.clientID]));
    expect(entries).to.have.length(1);
    expect(entries[0]!.clientId).to.equal(doc.clientID);
    expect(entries[0]!.clock).to.equal(1);
    const parsed = entries.map((e) => parseAwarenessEntry(e, 8192));
    const user = stampedUser("u1", { name: "Una" });
    const update = writeAwarenessUpdate(stampEntries(parsed, user, true), parsed.length);

    const receiver = new Awareness(new Y.Doc());
    applyAwarenessUpdate(receiver, update, null);
    expect(receiver.getStates().get(doc.clientID)).to.deep.equal({
      cursor: { anchor: 1, head: 2 },
      user: { id: "u1", name: "Una", color: colorForUser("u1") },
    });
    awareness.destroy();
    receiver.destroy();
  });

  it("keeps null (left) states null and reduces states without presence permission to the identity", () => {
    const update = awarenessUpdate([
      { clientId: 1, clock: 3, state: null },
      { clientId: 2, clock: 4, state: { pointer: { x: 1, y: 2 } } },
    ]);
    const parsed = readAwarenessEntries(update).map((e) => parseAwarenessEntry(e, 8192));
    expect(parsed[0]!.state).to.equal(null);
    const user = stampedUser("u2", {});
    const out = readAwarenessEntries(writeAwarenessUpdate(stampEntries(parsed, user, false), 2));
    expect(new TextDecoder().decode(out[0]!.raw)).to.equal("null");
    expect(JSON.parse(new TextDecoder().decode(out[1]!.raw))).to.deep.equal({ user: { id: "u2", name: "u2", color: colorForUser("u2") } });
  });

  it("rejects oversized states with 4413 and non-object or non-JSON states with 4400", () => {
    const big = readAwarenessEntries(awarenessUpdate([{ clientId: 1, clock: 1, state: { s: "x".repeat(300) } }]))[0]!;
    expect(() => parseAwarenessEntry(big, 256)).to.throw(AwarenessRejected).with.property("code", 4413);
    for (const bad of ["{nope", "[]", "\"text\"", "7"]) {
      const entry = readAwarenessEntries(awarenessUpdate([{ clientId: 1, clock: 1, state: bad, raw: true }]))[0]!;
      expect(() => parseAwarenessEntry(entry, 256)).to.throw(AwarenessRejected).with.property("code", 4400);
    }
  });

  it("throws on truncated updates instead of reading past the end", () => {
    const update = awarenessUpdate([{ clientId: 1, clock: 1, state: { a: 1 } }]);
    expect(() => readAwarenessEntries(update.subarray(0, update.length - 2))).to.throw(RangeError);
    expect(() => readAwarenessEntries(new Uint8Array([200, 1]))).to.throw();
  });

  it("colours are deterministic per user id unless the token gives one", () => {
    expect(colorForUser("alice")).to.equal(colorForUser("alice"));
    expect(USER_COLORS).to.include(colorForUser("alice"));
    const spread = new Set(Array.from({ length: 50 }, (_, i) => colorForUser(`user-${i}`)));
    expect(spread.size).to.be.greaterThan(6);
    expect(stampedUser("alice", { color: "#abcdef" }).color).to.equal("#abcdef");
    expect(stampedUser("alice", { name: "", avatar: "a.png" })).to.deep.equal({ id: "alice", name: "alice", color: colorForUser("alice"), avatar: "a.png" });
  });

  it("writes an awareness message as lib0 does, with or without the address", () => {
    for (const [address, size] of [["demo", 10], ["démo\u0000session-1", 200], ["x".repeat(300), 20_000]] as const) {
      const update = Uint8Array.from({ length: size }, (_, i) => i % 251);
      const e = encoding.createEncoder();
      encoding.writeVarString(e, address);
      encoding.writeVarUint(e, MessageType.Awareness);
      encoding.writeVarUint8Array(e, update);
      const expected = encoding.toUint8Array(e);
      expect(Buffer.from(encodeAwarenessMessage(address, update)).equals(Buffer.from(expected))).to.equal(true);
      const bodyStart = expected.length - update.length - (size < 128 ? 1 : size < 16384 ? 2 : 3) - 1;
      expect(Buffer.from(encodeAwarenessMessage(null, update)).equals(Buffer.from(expected.subarray(bodyStart)))).to.equal(true);
    }
  });
});
