import { expect } from "chai";
import {
  INTERNAL_MARK,
  clientAddressOf,
  isValidRoomId,
  parseDocumentName,
  toDocumentName,
} from "../../../protocol/document-name.ts";

describe("document names", () => {
  it("names a room's document after its organisation, behind the internal mark", () => {
    const name = toDocumentName("org-1", "demo");
    expect(name).to.equal(`${INTERNAL_MARK}org-1/demo`);
    expect(name).not.to.equal(toDocumentName("org-2", "demo"));
  });

  it("parses internal names back, keeping slashes-free room ids whole", () => {
    expect(parseDocumentName(toDocumentName("org-1", "a b:c"))).to.deep.equal({ orgId: "org-1", roomId: "a b:c" });
    expect(parseDocumentName("org-1/demo"), "a client address is not an internal name").to.equal(null);
    expect(parseDocumentName(`${INTERNAL_MARK}/demo`), "empty organisation").to.equal(null);
    expect(parseDocumentName(`${INTERNAL_MARK}nodelimiter`)).to.equal(null);
  });

  it("gives clients back their plain room id", () => {
    expect(clientAddressOf(toDocumentName("org-1", "demo"))).to.equal("demo");
    expect(clientAddressOf("demo")).to.equal("demo");
  });

  it("accepts room ids of 1 to 128 characters without control characters or slashes", () => {
    expect(isValidRoomId("demo")).to.equal(true);
    expect(isValidRoomId("x".repeat(128))).to.equal(true);
    expect(isValidRoomId("é 漢字 :-_.")).to.equal(true);
    expect(isValidRoomId("")).to.equal(false);
    expect(isValidRoomId("x".repeat(129))).to.equal(false);
    expect(isValidRoomId("a/b")).to.equal(false);
    expect(isValidRoomId(`${INTERNAL_MARK}org/x`)).to.equal(false);
    expect(isValidRoomId("a\u0000b")).to.equal(false);
  });
});
