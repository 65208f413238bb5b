import { expect } from "chai";
import {
  backoffDelay,
  classifyRefusal,
  createRoomConnection,
  DEFAULT_RETRY,
  type ConnectionActions,
  type RoomConnection,
} from "../../../client/core/connection.ts";
import type { SyncForgeError, Status } from "../../../client/core/types.ts";
import { createFakeClock, type FakeClock } from "../../helpers/fake-clock.ts";

interface Harness {
  connection: RoomConnection;
  clock: FakeClock;
  /** Every action the machine took, in order ("reauthenticate", "error:token_refused", …). */
  calls: string[];
  statuses: Status[];
}

function harness(): Harness {
  const clock = createFakeClock();
  const calls: string[] = [];
  const actions: ConnectionActions = {
    reauthenticate: () => calls.push("reauthenticate"),
    invalidateToken: () => calls.push("invalidate"),
    sendToken: () => calls.push("sendToken"),
    refused: (error: SyncForgeError, kind) => calls.push(`refused:${kind}:${error.code}`),
    reportError: (error: SyncForgeError) => calls.push(`error:${error.code}`),
  };
  const connection = createRoomConnection({ roomId: "r", actions, clock });
  const statuses: Status[] = [];
  connection.status.subscribe((s) => statuses.push(s));
  return { connection, clock, calls, statuses };
}

describe("client room connection machine", () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(() => h.connection.stop());

  it("connecting → connected → reconnecting on a socket close → connected → disconnected on leave", () => {
    const { connection } = h;
    expect(connection.getStatus()).to.equal("connecting");
    connection.send({ type: "SOCKET_CLOSED" }); // before the first authentication: still connecting
    expect(connection.getState()).to.equal("connecting");
    connection.send({ type: "AUTHENTICATED" });
    connection.send({ type: "SOCKET_CLOSED" });
    expect(connection.getState()).to.equal("reconnecting");
    connection.send({ type: "AUTHENTICATED" });
    connection.send({ type: "LEAVE" });
    expect(h.statuses).to.deep.equal(["connected", "reconnecting", "connected", "disconnected"]);
    expect(h.calls).to.deep.equal([]); // the socket's own loop reconnected: nothing for the room to do
  });

  it("a refused token on an open socket: forget it, report it, wait, authenticate again", () => {
    const { connection, clock } = h;
    connection.send({ type: "AUTH_FAILED", reason: "token_expired" });
    expect(connection.getState()).to.equal("connecting.backoff");
    expect(h.calls).to.deep.equal(["invalidate", "error:token_refused"]);
    clock.tick(DEFAULT_RETRY.delay - 1);
    expect(h.calls).to.not.include("reauthenticate");
    clock.tick(1);
    expect(h.calls.at(-1)).to.equal("reauthenticate");
    expect(connection.getState()).to.equal("connecting");
    connection.send({ type: "AUTHENTICATED" });
    expect(h.statuses).to.deep.equal(["connected"]); // the backoff was not a status change
  });

  it("waits longer after each refusal and ends refused after `attempts` new tokens", () => {
    const { connection, clock } = h;
    const waits: number[] = [];
    for (let attempt = 1; attempt <= DEFAULT_RETRY.attempts; attempt++) {
      connection.send({ type: "AUTH_FAILED", reason: "token_revoked" });
      const before = clock.now();
      while (connection.getState() === "connecting.backoff") clock.tick(100);
      waits.push(clock.now() - before);
    }
    expect(waits).to.deep.equal([500, 1000, 2000, 4000, 8000]);
    connection.send({ type: "AUTH_FAILED", reason: "token_revoked" });
    expect(connection.getStatus()).to.equal("refused");
    expect(connection.getError()?.code).to.equal("token_refused");
    expect(h.calls.filter((c) => c === "reauthenticate")).to.have.length(DEFAULT_RETRY.attempts);
    expect(h.calls.at(-1)).to.equal("refused:final:token_refused");
    // Refused is final: nothing brings it back, nothing is pending.
    connection.send({ type: "AUTHENTICATED" });
    expect(connection.getStatus()).to.equal("refused");
    expect(clock.pending()).to.equal(0);
    expect(h.statuses).to.deep.equal(["refused"]);
  });

  it("an authentication resets the count: the next refusal waits the first delay again", () => {
    const { connection, clock } = h;
    connection.send({ type: "AUTH_FAILED", reason: "invalid_token" });
    clock.tick(500);
    connection.send({ type: "AUTH_FAILED", reason: "invalid_token" });
    clock.tick(1000);
    connection.send({ type: "AUTHENTICATED" });
    connection.send({ type: "ROOM_CLOSED", reason: "token_expired" });
    expect(connection.getState()).to.equal("reconnecting.backoff");
    clock.tick(500);
    expect(connection.getState()).to.equal("reconnecting");
  });

  it("one loop at a time: a socket close during the backoff cancels the room's timer; the socket's loop goes on", () => {
    const { connection, clock } = h;
    connection.send({ type: "AUTH_FAILED", reason: "token_expired" });
    connection.send({ type: "SOCKET_CLOSED" });
    expect(connection.getState()).to.equal("connecting");
    expect(clock.pending()).to.equal(0);
    clock.tick(60_000);
    expect(h.calls).to.not.include("reauthenticate");
    // The socket reopened and the provider authenticated by itself: refused again, the count goes on.
    connection.send({ type: "AUTH_FAILED", reason: "token_expired" });
    const before = clock.now();
    while (connection.getState() === "connecting.backoff") clock.tick(100);
    expect(clock.now() - before).to.equal(1000);
  });

  it("a live token expiry on a socket other rooms keep open: reconnecting, a new token, connected", () => {
    const { connection, clock } = h;
    connection.send({ type: "AUTHENTICATED" });
    connection.send({ type: "ROOM_CLOSED", reason: "token_expired" });
    expect(connection.getState()).to.equal("reconnecting.backoff");
    clock.tick(500);
    connection.send({ type: "AUTHENTICATED" });
    expect(h.statuses).to.deep.equal(["connected", "reconnecting", "connected"]);
    expect(h.calls).to.deep.equal(["invalidate", "error:token_refused", "reauthenticate"]);
  });

  it("final refusals end refused at once with the server's reason", () => {
    h.connection.send({ type: "AUTH_FAILED", reason: "room_not_granted" });
    expect(h.connection.getStatus()).to.equal("refused");
    expect(h.connection.getError()?.code).to.equal("room_not_granted");
    expect(h.calls).to.deep.equal(["refused:final:room_not_granted"]);
    expect(h.clock.pending()).to.equal(0);

    for (const reason of ["room_deleted", "room_not_found", "forbidden"]) {
      const other = harness();
      other.connection.send({ type: "AUTHENTICATED" });
      other.connection.send({ type: "ROOM_CLOSED", reason });
      expect(other.statuses, reason).to.deep.equal(["connected", "refused"]);
      expect(other.calls, reason).to.deep.equal([`refused:final:${reason}`]);
      other.connection.stop();
    }
  });

  it("a refused write ends refused as a write refusal (the room needs a resync)", () => {
    h.connection.send({ type: "AUTHENTICATED" });
    h.connection.send({ type: "ROOM_CLOSED", reason: "comment_not_author" });
    expect(h.connection.getStatus()).to.equal("refused");
    expect(h.calls).to.deep.equal(["refused:write:comment_not_author"]);
  });

  it("a document closed for a passing reason is opened again without a new token or an error", () => {
    h.connection.send({ type: "AUTHENTICATED" });
    h.connection.send({ type: "ROOM_CLOSED", reason: "Reset Connection" });
    h.clock.tick(500);
    expect(h.calls).to.deep.equal(["reauthenticate"]);
    expect(h.connection.getState()).to.equal("reconnecting");
  });

  it("sends a refreshed token only on a live connection", () => {
    h.connection.send({ type: "TOKEN_REFRESHED" });
    h.connection.send({ type: "AUTHENTICATED" });
    h.connection.send({ type: "TOKEN_REFRESHED" });
    expect(h.calls).to.deep.equal(["sendToken"]);
    expect(h.statuses).to.deep.equal(["connected"]);
  });

  it("the socket giving up ends disconnected with connection_failed; its restart brings the room back", () => {
    h.connection.send({ type: "AUTHENTICATED" });
    h.connection.send({ type: "SOCKET_CLOSED" });
    h.connection.send({ type: "SOCKET_GAVE_UP" });
    expect(h.calls).to.deep.equal(["error:connection_failed"]);
    h.connection.send({ type: "AUTHENTICATED" });
    expect(h.statuses).to.deep.equal(["connected", "reconnecting", "disconnected", "connected"]);
  });

  it("leaving during a backoff clears its timer", () => {
    h.connection.send({ type: "AUTH_FAILED", reason: "token_expired" });
    h.connection.send({ type: "LEAVE" });
    h.connection.stop();
    expect(h.clock.pending()).to.equal(0);
    h.clock.tick(10_000);
    expect(h.calls).to.not.include("reauthenticate");
    expect(h.connection.getStatus()).to.equal("disconnected");
  });

  it("classifies refusals: token, write, final, transient", () => {
    expect(classifyRefusal("token_expired", "auth")).to.equal("token");
    expect(classifyRefusal("token_revoked", "close")).to.equal("token");
    expect(classifyRefusal("Failed to get token during sendToken(): Error: 503", "auth")).to.equal("token");
    expect(classifyRefusal("thread_forged_author", "close")).to.equal("write");
    expect(classifyRefusal("room_not_granted", "auth")).to.equal("final");
    expect(classifyRefusal("room_full", "auth")).to.equal("final");
    expect(classifyRefusal("internal_error", "auth")).to.equal("transient");
    expect(classifyRefusal("room_deleted", "close")).to.equal("final");
    expect(classifyRefusal("plan_limit_reached", "close")).to.equal("final");
    expect(classifyRefusal("plan_limit_reached: 50 monthly active users", "close")).to.equal("final");
    expect(classifyRefusal("Server closed the connection", "close")).to.equal("transient");
  });

  it("backoff delays double from `delay` up to `maxDelay`", () => {
    const policy = { attempts: 10, delay: 100, maxDelay: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy))).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
  });
});
