/**
 * Acting as an end user over REST. Comment writes and the inbox endpoints name an end user
 * (`userId` in the body, `:user_id` in the path). An API key, an Owner or an Admin (who may mint a
 * token for anyone anyway) may name any end user of the organisation; a signed-in Member or Viewer
 * acts only as themselves: `userId` left out or their own id, anything else is 403
 * impersonation_forbidden and changes nothing. Sending a notification is a backend action.
 */
import { expect } from "chai";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { createTeam, startMailbox, type ApiClient, type ApiResponse, type Mailbox, type Team } from "../../helpers/accounts.ts";

type Caller = "apiKey" | "owner" | "admin" | "member" | "viewer";
const RANK = { viewer: 0, member: 1, admin: 2 } as const;
const MAY_ACT_AS_ANYONE: Record<Caller, boolean> = { apiKey: true, owner: true, admin: true, member: false, viewer: false };

interface Seed {
  room: string;
  victim: string;
  threadId: string;
  commentId: string;
  notificationId: string;
}

interface Attack {
  name: string;
  /** The lowest role that may take the action at all, for anyone (Viewers do not write; only the backend sends). */
  minRole: "viewer" | "member" | "admin";
  run(client: ApiClient, base: { org: string; room: string }, seed: Seed): Promise<ApiResponse>;
}

/** The matrix of the review: every REST write or read that names another end user. */
const ATTACKS: Attack[] = [
  { name: "post a thread as another user", minRole: "member", run: (c, b, s) => c.post(`${b.room}/threads`, { userId: s.victim, body: "forged thread" }) },
  { name: "reply as another user", minRole: "member", run: (c, b, s) => c.post(`${b.room}/threads/${s.threadId}/comments`, { userId: s.victim, body: "forged reply" }) },
  { name: "edit another user's comment", minRole: "member", run: (c, b, s) => c.post(`${b.room}/threads/${s.threadId}/comments/${s.commentId}`, { userId: s.victim, body: "rewritten" }) },
  { name: "react as another user", minRole: "member", run: (c, b, s) => c.post(`${b.room}/threads/${s.threadId}/comments/${s.commentId}/add-reaction`, { userId: s.victim, emoji: "💩" }) },
  { name: "resolve as another user", minRole: "member", run: (c, b, s) => c.post(`${b.room}/threads/${s.threadId}/mark-as-resolved`, { userId: s.victim }) },
  { name: "delete another user's comment", minRole: "member", run: (c, b, s) => c.delete(`${b.room}/threads/${s.threadId}/comments/${s.commentId}?userId=${s.victim}`) },
  { name: "read another user's inbox", minRole: "viewer", run: (c, b, s) => c.get(`${b.org}/users/${s.victim}/inbox-notifications`) },
  { name: "count another user's unread notifications", minRole: "viewer", run: (c, b, s) => c.get(`${b.org}/users/${s.victim}/inbox-notifications/unread-count`) },
  { name: "read another user's notification settings", minRole: "viewer", run: (c, b, s) => c.get(`${b.org}/users/${s.victim}/notification-settings`) },
  { name: "mark another user's notification read", minRole: "member", run: (c, b, s) => c.post(`${b.org}/users/${s.victim}/inbox-notifications/${s.notificationId}/read`) },
  { name: "mark all of another user's notifications read", minRole: "member", run: (c, b, s) => c.post(`${b.org}/users/${s.victim}/inbox-notifications/read-all`) },
  {
    name: "redirect another user's notification email",
    minRole: "member",
    run: (c, b, s) => c.post(`${b.org}/users/${s.victim}/notification-settings`, { email: "attacker@evil.test", channels: { mention: { email: true } } }),
  },
  {
    name: "send a notification to another user",
    minRole: "admin",
    run: (c, b, s) => c.post(`${b.org}/inbox-notifications/trigger`, { userId: s.victim, kind: "$security_alert", data: { link: "https://evil.test" } }),
  },
];

describe("acting as an end user over REST", function () {
  this.timeout(60_000);
  let mailbox: Mailbox;
  let server: TestServer;
  let team: Team;
  const org = () => `/organizations/${team.orgId}`;

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" });
    await truncateAll();
    team = await createTeam(server.httpUrl, mailbox);
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  function clientOf(caller: Caller): ApiClient {
    return caller === "apiKey" ? team.apiKey.client : team[caller].client;
  }

  /** A room of the caller's own, with a thread, a notification and settings of one end user (made by the backend). */
  async function seed(caller: Caller): Promise<Seed> {
    const api = team.apiKey.client;
    const room = `impersonation-${caller}`;
    const victim = `victim-${caller}`;
    expect((await api.post(`${org()}/rooms`, { id: room })).status).to.equal(201);
    const thread = await api.post(`${org()}/rooms/${room}/threads`, { userId: victim, body: "the victim's words" });
    expect(thread.status, JSON.stringify(thread.body)).to.equal(201);
    const settings = await api.post(`${org()}/users/${victim}/notification-settings`, { email: "victim@example.test" });
    expect(settings.status, JSON.stringify(settings.body)).to.equal(200);
    const notified = await api.post(`${org()}/inbox-notifications/trigger`, { userId: victim, kind: "$welcome" });
    expect(notified.status, JSON.stringify(notified.body)).to.equal(201);
    return { room, victim, threadId: thread.body.id, commentId: thread.body.comments[0].id, notificationId: notified.body.notification.id };
  }

  /** What the backend sees of the victim after the attacks. */
  async function victimState(s: Seed) {
    const api = team.apiKey.client;
    const threads = (await api.get(`${org()}/rooms/${s.room}/threads`)).body.data;
    const inbox = (await api.get(`${org()}/users/${s.victim}/inbox-notifications`)).body;
    const settings = (await api.get(`${org()}/users/${s.victim}/notification-settings`)).body;
    return { threads, inbox, settings };
  }

  for (const caller of Object.keys(MAY_ACT_AS_ANYONE) as Caller[]) {
    const allowed = MAY_ACT_AS_ANYONE[caller];
    it(`${caller}: ${allowed ? "may act as any end user" : "may not act as another end user (403), and nothing changes"}`, async () => {
      const s = await seed(caller);
      const before = await victimState(s);
      const client = clientOf(caller);
      const base = { org: org(), room: `${org()}/rooms/${s.room}` };
      for (const attack of ATTACKS) {
        const r = await attack.run(client, base, s);
        const what = `${caller} ${attack.name}: ${r.status} ${JSON.stringify(r.body)}`;
        if (allowed) {
          expect(r.status, what).to.be.within(200, 299);
        } else {
          expect(r.status, what).to.equal(403);
          // Below the action's role it is 403 forbidden whoever is named; otherwise the rule is named.
          const belowRole = RANK[caller as "member" | "viewer"] < RANK[attack.minRole];
          expect(r.body.error.code, what).to.equal(belowRole ? "forbidden" : "impersonation_forbidden");
          expect(JSON.stringify(r.body), what).to.not.include("the victim's words");
          expect(JSON.stringify(r.body), what).to.not.include("victim@example.test");
        }
      }
      if (!allowed) expect(await victimState(s)).to.deep.equal(before);
      else {
        const after = await victimState(s);
        expect(after.settings.email).to.equal("attacker@evil.test");
        expect(after.inbox.data.map((n: { kind: string }) => n.kind)).to.include("$security_alert");
      }
    });
  }

  it("a Member acts as themselves: userId left out or their own id", async () => {
    const me = team.member;
    const room = `${org()}/rooms/member-own`;
    expect((await team.apiKey.client.post(`${org()}/rooms`, { id: "member-own" })).status).to.equal(201);
    const implicit = await me.client.post(`${room}/threads`, { body: "as myself" });
    expect(implicit.status, JSON.stringify(implicit.body)).to.equal(201);
    expect(implicit.body.createdBy).to.equal(me.user.id);
    expect(implicit.body.comments[0].authorId).to.equal(me.user.id);
    const threadId: string = implicit.body.id;
    const commentId: string = implicit.body.comments[0].id;
    const explicit = await me.client.post(`${room}/threads/${threadId}/comments`, { userId: me.user.id, body: "still me" });
    expect(explicit.status).to.equal(201);
    expect(explicit.body.authorId).to.equal(me.user.id);
    expect((await me.client.post(`${room}/threads/${threadId}/comments/${commentId}`, { body: "edited by me" })).status).to.equal(200);
    expect((await me.client.post(`${room}/threads/${threadId}/comments/${commentId}/add-reaction`, { emoji: "👍" })).body.reactions).to.deep.equal([{ emoji: "👍", users: [me.user.id] }]);
    expect((await me.client.post(`${room}/threads/${threadId}/mark-as-resolved`, {})).body).to.include({ resolvedBy: me.user.id });
    expect((await me.client.delete(`${room}/threads/${threadId}/comments/${commentId}`)).status).to.equal(204);

    // Their own inbox and settings.
    const mine = `${org()}/users/${me.user.id}`;
    const notified = await team.apiKey.client.post(`${org()}/inbox-notifications/trigger`, { userId: me.user.id, kind: "$hello" });
    expect(notified.status).to.equal(201);
    const inbox = await me.client.get(`${mine}/inbox-notifications`);
    expect(inbox.status).to.equal(200);
    expect(inbox.body.data.map((n: { kind: string }) => n.kind)).to.include("$hello");
    expect((await me.client.post(`${mine}/inbox-notifications/${notified.body.notification.id}/read`)).status).to.equal(200);
    expect((await me.client.post(`${mine}/inbox-notifications/read-all`)).status).to.equal(200);
    const settings = await me.client.post(`${mine}/notification-settings`, { email: "me@example.test" });
    expect(settings.status).to.equal(200);
    expect((await me.client.get(`${mine}/notification-settings`)).body.email).to.equal("me@example.test");

    // Sending notifications is for the backend, even to oneself.
    const self = await me.client.post(`${org()}/inbox-notifications/trigger`, { userId: me.user.id, kind: "$spam" });
    expect(self.status).to.equal(403);
    expect(self.body.error.code).to.equal("forbidden");
  });

  it("a Viewer reads their own inbox only", async () => {
    const me = team.viewer;
    await team.apiKey.client.post(`${org()}/inbox-notifications/trigger`, { userId: me.user.id, kind: "$hello" });
    const own = await me.client.get(`${org()}/users/${me.user.id}/inbox-notifications`);
    expect(own.status).to.equal(200);
    expect(own.body.data.map((n: { kind: string }) => n.kind)).to.include("$hello");
    expect((await me.client.get(`${org()}/users/${me.user.id}/notification-settings`)).status).to.equal(200);
    const other = await me.client.get(`${org()}/users/${team.member.user.id}/inbox-notifications`);
    expect(other.status).to.equal(403);
    expect(other.body.error.code).to.equal("impersonation_forbidden");
  });

  it("an Owner or Admin without userId acts as themselves; an API key must name the user", async () => {
    expect((await team.apiKey.client.post(`${org()}/rooms`, { id: "admin-own" })).status).to.equal(201);
    const room = `${org()}/rooms/admin-own`;
    for (const who of ["owner", "admin"] as const) {
      const r = await team[who].client.post(`${room}/threads`, { body: `by the ${who}` });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body.createdBy).to.equal(team[who].user.id);
    }
    const nameless = await team.apiKey.client.post(`${room}/threads`, { body: "by whom?" });
    expect(nameless.status).to.equal(400);
    expect(nameless.body.error.code).to.equal("validation_failed");
    expect(nameless.body.error.details.map((d: { path: string }) => d.path)).to.include("userId");
  });
});
