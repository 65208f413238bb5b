/**
 * The embedded database under load: on SQLite (WAL), a deferred transaction that reads and then
 * writes fails with SQLITE_BUSY at once, busy timeout or not, when another connection committed in
 * between. REST writes (rooms created and deleted, access tokens, comment threads) must get no 5xx while 20 rooms are
 * typed into and compacted.
 */
import { expect } from "chai";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { tempSqliteUrl } from "../../helpers/database.ts";
import { connectProvider, waitForSynced, waitForAcked, type TestProvider } from "../../helpers/clients.ts";
import { ApiClient, signUp, startMailbox, type Mailbox } from "../../helpers/accounts.ts";

const ROOMS = 20;
const LOAD_MS = 5000;

describe("REST writes on SQLite while rooms are typed into and compacted", function () {
  this.timeout(30_000);
  let mailbox: Mailbox;
  let server: TestServer;
  let api: ApiClient;
  let orgId: string;
  const typists: TestProvider[] = [];

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer({
      DATABASE_URL: tempSqliteUrl(),
      SMTP_URL: mailbox.smtpUrl,
      BCRYPT_ROUNDS: "4",
      // Compaction (a read-then-write transaction) every few keystrokes.
      STORE_DEBOUNCE_MS: "50",
      STORE_MAX_DEBOUNCE_MS: "250",
    });
    const owner = await signUp(server.httpUrl, mailbox);
    const org = await owner.client.post("/organizations", { name: "Load" });
    orgId = org.body.organization.id;
    const key = await owner.client.post(`/organizations/${orgId}/api-keys`, { name: "backend" });
    api = new ApiClient(`${server.httpUrl}/api`, key.body.apiKey.secret);
  });
  after(async () => {
    while (typists.length) typists.pop()!.destroy();
    await server?.close();
    await mailbox?.close();
  });

  it("answers every room, token and thread write without a 5xx", async () => {
    const token = await mintToken({ orgId, userId: "typist" });
    for (let i = 0; i < ROOMS; i++) typists.push(connectProvider(server.collabUrl, `typed-${i}`, token));
    await Promise.all(typists.map((t) => waitForSynced(t, 10_000)));

    const until = Date.now() + LOAD_MS;
    const typing = typists.map(async (typist) => {
      while (Date.now() < until) {
        typist.text.insert(typist.text.length, "x");
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    });

    const statuses: number[] = [];
    const failures: string[] = [];
    const record = (what: string, response: { status: number; body: unknown }) => {
      statuses.push(response.status);
      if (response.status >= 500) failures.push(`${what}: ${response.status} ${JSON.stringify(response.body)}`);
    };
    let created = 0;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      while (Date.now() < until) {
        const roomId = `rest-${w}-${created++}`;
        record("create room", await api.post(`/organizations/${orgId}/rooms`, { id: roomId }));
        record("mint token", await api.post(`/organizations/${orgId}/access-tokens`, { userId: `u-${w}`, permissions: { "*": ["room:write"] } }));
        record("create thread", await api.post(`/organizations/${orgId}/rooms/typed-${w}/threads`, { userId: `u-${w}`, body: `thread ${roomId}` }));
        record("delete room", await api.delete(`/organizations/${orgId}/rooms/${roomId}`));
      }
    });
    await Promise.all([...typing, ...writers]);
    await Promise.all(typists.map((t) => waitForAcked(t, 10_000)));

    expect(failures).to.deep.equal([]);
    expect(statuses.length).to.be.greaterThan(30);
    expect(statuses.filter((s) => s >= 200 && s < 300).length, `statuses: ${[...new Set(statuses)].join(", ")}`).to.equal(statuses.length);
  });
});
