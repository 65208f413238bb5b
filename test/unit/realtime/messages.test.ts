import { expect } from "chai";
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import { MessageType, SyncStep, readDocumentUpdate, skipAddress, validateClientMessage } from "../../../protocol/messages.ts";

function frame(address: string, write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, address);
  write(e);
  return encoding.toUint8Array(e);
}

function aYjsUpdate(): Uint8Array {
  const doc = new Y.Doc();
  doc.getText("content").insert(0, "hello");
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return update;
}

const sync = (step: number, payload: Uint8Array, type: number = MessageType.Sync) =>
  frame("room", (e) => {
    encoding.writeVarUint(e, type);
    encoding.writeVarUint(e, step);
    encoding.writeVarUint8Array(e, payload);
  });

describe("messages", () => {
  it("skips the address and refuses one that runs past the end", () => {
    const decoder = skipAddress(frame("room", (e) => encoding.writeVarUint(e, MessageType.Awareness)));
    expect(decoder.pos).to.equal(5);
    expect(() => skipAddress(new Uint8Array([10, 1, 2]))).to.throw(RangeError);
  });

  it("reads the Yjs update of sync step 2 and update messages, and nothing else", () => {
    const update = aYjsUpdate();
    expect(readDocumentUpdate(sync(SyncStep.Update, update))).to.deep.equal(update);
    expect(readDocumentUpdate(sync(SyncStep.Step2, update, MessageType.SyncReply))).to.deep.equal(update);
    expect(readDocumentUpdate(sync(SyncStep.Step1, Y.encodeStateVector(new Y.Doc())))).to.equal(null);
    expect(readDocumentUpdate(frame("room", (e) => encoding.writeVarUint(e, MessageType.QueryAwareness)))).to.equal(null);
  });

  describe("validateClientMessage", () => {
    const valid: Record<string, Uint8Array> = {
      "sync step 1": sync(SyncStep.Step1, Y.encodeStateVector(new Y.Doc())),
      "sync step 2": sync(SyncStep.Step2, aYjsUpdate()),
      update: sync(SyncStep.Update, aYjsUpdate()),
      auth: frame("room", (e) => {
        encoding.writeVarUint(e, MessageType.Auth);
        encoding.writeVarUint(e, 0);
        encoding.writeVarString(e, "token");
        encoding.writeVarString(e, "provider-version");
      }),
      awareness: frame("room", (e) => {
        encoding.writeVarUint(e, MessageType.Awareness);
        const a = encoding.createEncoder();
        encoding.writeVarUint(a, 1);
        encoding.writeVarUint(a, 42);
        encoding.writeVarUint(a, 3);
        encoding.writeVarString(a, JSON.stringify({ user: { name: "Ada" } }));
        encoding.writeVarUint8Array(e, encoding.toUint8Array(a));
      }),
      stateless: frame("room", (e) => {
        encoding.writeVarUint(e, MessageType.Stateless);
        encoding.writeVarString(e, "{}");
      }),
      "query awareness": frame("room", (e) => encoding.writeVarUint(e, MessageType.QueryAwareness)),
      close: frame("room", (e) => encoding.writeVarUint(e, MessageType.Close)),
    };
    for (const [name, message] of Object.entries(valid)) {
      it(`accepts a well-formed ${name} message`, () => {
        expect(() => validateClientMessage(message)).not.to.throw();
      });
    }

    const invalid: Record<string, Uint8Array> = {
      "garbage bytes": new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 1]),
      "a truncated varint": new Uint8Array([0x80]),
      "an address with no type": frame("room", () => {}),
      "an unknown type": frame("room", (e) => encoding.writeVarUint(e, 99)),
      "the server-internal broadcast type": frame("room", (e) => {
        encoding.writeVarUint(e, MessageType.BroadcastStateless);
        encoding.writeVarString(e, "x");
      }),
      "an unknown sync step": sync(7, aYjsUpdate()),
      "an update Yjs cannot decode": sync(SyncStep.Update, new Uint8Array([1, 1, 7, 0, 0x1f, 1, 0, 0])),
      "a truncated update": sync(SyncStep.Update, aYjsUpdate().slice(0, -3)),
      "a payload length past the end": frame("room", (e) => {
        encoding.writeVarUint(e, MessageType.Sync);
        encoding.writeVarUint(e, SyncStep.Update);
        encoding.writeVarUint(e, 1000);
        encoding.writeUint8(e, 1);
      }),
      "an auth token past the end": frame("room", (e) => {
        encoding.writeVarUint(e, MessageType.Auth);
        encoding.writeVarUint(e, 0);
        encoding.writeVarUint(e, 500);
      }),
      "awareness whose state runs past the end": frame("room", (e) => {
        encoding.writeVarUint(e, MessageType.Awareness);
        encoding.writeVarUint8Array(e, new Uint8Array([1, 42, 3, 50, 0x7b]));
      }),
    };
    for (const [name, message] of Object.entries(invalid)) {
      it(`refuses ${name}`, () => {
        expect(() => validateClientMessage(message)).to.throw();
      });
    }
  });
});
