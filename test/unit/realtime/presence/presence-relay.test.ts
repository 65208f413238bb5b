/**
 * The relay's wire format between processes (server/realtime/presence/presence-relay.ts): what one
 * process publishes, another reads back whole; anything else is refused rather than misread.
 */
import { expect } from "chai";
import { decodeMessage, encodeMessage, type RelayEntry } from "../../../../server/realtime/presence/presence-relay.ts";
import { toDocumentName } from "../../../../protocol/document-name.ts";

describe("presence relay messages", () => {
  const name = toDocumentName("org-1", "démo");

  it("reads back an update's entries and a query", () => {
    const entries: RelayEntry[] = [
      { clientId: 1, clock: 7, userId: "ada", json: '{"user":{"id":"ada"},"cursor":null}' },
      { clientId: 2 ** 31, clock: 0, userId: "bob", json: "null" },
    ];
    expect(decodeMessage(encodeMessage(0, "sf-a", name, entries))).to.deep.equal({ kind: 0, from: "sf-a", documentName: name, entries, payload: "" });
    expect(decodeMessage(encodeMessage(1, "sf-b", name, []))).to.deep.equal({ kind: 1, from: "sf-b", documentName: name, entries: [], payload: "" });
  });

  it("reads back a broadcast event's stamped JSON", () => {
    const payload = JSON.stringify({ type: "sf:event", user: null, connectionId: -1, event: { é: "🎉" } });
    expect(decodeMessage(encodeMessage(2, "sf-c", name, [], payload))).to.deep.equal({ kind: 2, from: "sf-c", documentName: name, entries: [], payload });
    const whole = encodeMessage(2, "sf-c", name, [], payload);
    expect(() => decodeMessage(whole.subarray(0, whole.length - 3))).to.throw();
  });

  it("refuses unknown kinds and truncated messages", () => {
    expect(() => decodeMessage(encodeMessage(5, "sf-a", name, []))).to.throw(RangeError);
    const whole = encodeMessage(0, "sf-a", name, [{ clientId: 1, clock: 1, userId: "ada", json: '{"a":1}' }]);
    expect(() => decodeMessage(whole.subarray(0, whole.length - 3))).to.throw();
  });
});
