import { expect } from "chai";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";

describe("collaboration over /collab", () => {
  let server: TestServer;
  const clients: TestProvider[] = [];

  before(async () => {
    server = await startServer();
  });
  beforeEach(() => truncateAll());
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });
  after(() => server.close());

  function connect(room: string, token: string): TestProvider {
    const c = connectProvider(server.collabUrl, room, token);
    clients.push(c);
    return c;
  }

  it("two providers converge and a third joining later receives the state", async () => {
    const token = await mintToken({});
    const a = connect("room-1", token);
    const b = connect("room-1", token);
    await Promise.all([waitForSynced(a), waitForSynced(b)]);
    a.text.insert(0, "hello ");
    b.text.insert(0, "world ");
    await waitFor(() => a.text.toString() === b.text.toString() && a.text.length === 12, 5000, "convergence");
    const c = connect("room-1", token);
    await waitForSynced(c);
    await waitFor(() => c.text.toString() === a.text.toString(), 5000, "late joiner");
  });
});
