import { expect } from "chai";
import { FSM, type Transition } from "../../../client/core/fsm.ts";
import { createFakeClock } from "../../helpers/fake-clock.ts";

type State = "idle" | "busy" | "waiting" | "done";
type Event = { type: "GO" } | { type: "FAIL"; code: number } | { type: "FINISH" } | { type: "PING" };
const STATES: readonly State[] = ["idle", "busy", "waiting", "done"];

function machine(clock = createFakeClock()) {
  return new FSM<State, Event, { failures: number; log: string[] }>({ states: STATES, initial: "idle", context: { failures: 0, log: [] }, clock });
}

describe("client FSM", () => {
  it("follows the transitions table, runs the effect between exit and enter, and notifies each change", () => {
    const fsm = machine();
    const seen: Array<Transition<State, Event>> = [];
    fsm.didTransition.subscribe((t) => seen.push(t));
    fsm.onEnter("busy", (ctx) => {
      ctx.log.push("enter busy");
      return () => ctx.log.push("exit busy");
    });
    fsm.addTransitions("idle", { GO: "busy" });
    fsm.addTransitions("busy", {
      FAIL: (event) => (event.code >= 500 ? { target: "waiting", effect: (ctx) => void ctx.log.push(`failed ${event.code}`) } : "done"),
    });
    fsm.start();
    expect(fsm.send({ type: "GO" })).to.equal(true);
    expect(fsm.send({ type: "FAIL", code: 503 })).to.equal(true);
    expect(fsm.currentState).to.equal("waiting");
    expect(fsm.context.log).to.deep.equal(["enter busy", "exit busy", "failed 503"]);
    expect(seen.map((t) => `${t.from}>${t.to}:${t.event.type}`)).to.deep.equal(["idle>busy:GO", "busy>waiting:FAIL"]);
  });

  it("ignores events the state has no entry for, and handlers that answer null", () => {
    const fsm = machine();
    fsm.addTransitions("idle", { GO: () => null });
    fsm.start();
    expect(fsm.send({ type: "FINISH" })).to.equal(false);
    fsm.send({ type: "GO" });
    expect(fsm.currentState).to.equal("idle");
  });

  it("a transition to the current state runs its effect without exiting, re-entering or notifying", () => {
    const fsm = machine();
    let entered = 0;
    let changes = 0;
    fsm.onEnter("idle", () => void entered++);
    fsm.addTransitions("idle", { PING: { target: "idle", effect: (ctx) => void ctx.log.push("pong") } });
    fsm.didTransition.subscribe(() => changes++);
    fsm.start();
    fsm.send({ type: "PING" });
    expect([entered, changes, fsm.context.log]).to.deep.equal([1, 0, ["pong"]]);
  });

  it("'*' rows apply to every state, and a second handler for the same state and event throws", () => {
    const fsm = machine();
    fsm.addTransitions("*", { FINISH: "done" });
    fsm.addTransitions(["idle", "waiting"], { GO: "busy" });
    expect(() => fsm.addTransitions("busy", { FINISH: "idle" })).to.throw(/already handles "FINISH"/);
    expect(() => fsm.addTransitions("nowhere" as State, { GO: "idle" })).to.throw(/Unknown state/);
    fsm.start();
    fsm.send({ type: "GO" });
    fsm.send({ type: "FINISH" });
    expect(fsm.currentState).to.equal("done");
  });

  it("owns its timers: a timed transition fires after its delay, and leaving the state first cancels it", () => {
    const clock = createFakeClock();
    const fsm = machine(clock);
    fsm.addTransitions("idle", { GO: "waiting" });
    fsm.addTransitions("waiting", { FINISH: "done", GO: "busy" });
    fsm.addTransitions("busy", { GO: "waiting" });
    fsm.addTimedTransition("waiting", (ctx) => 100 * 2 ** ctx.failures, { target: "idle", effect: (ctx) => void ctx.failures++ });
    fsm.start();

    fsm.send({ type: "GO" });
    clock.tick(99);
    expect(fsm.currentState).to.equal("waiting");
    clock.tick(1);
    expect(fsm.currentState).to.equal("idle");
    expect(fsm.context.failures).to.equal(1);

    fsm.send({ type: "GO" }); // 200 ms this time, from the context
    clock.tick(150);
    fsm.send({ type: "GO" }); // left for busy: the timer is cleared
    expect(clock.pending()).to.equal(0);
    clock.tick(1000);
    expect(fsm.currentState).to.equal("busy");
  });

  it("queues events sent from an effect or a listener until the current transition is done", () => {
    const fsm = machine();
    const order: string[] = [];
    fsm.addTransitions("idle", { GO: { target: "busy", effect: () => void fsm.send({ type: "FINISH" }) } });
    fsm.addTransitions("busy", { FINISH: "done" });
    fsm.onEnter("busy", () => void order.push("enter busy"));
    fsm.didTransition.subscribe(({ to }) => order.push(`now ${to}`));
    fsm.start();
    fsm.send({ type: "GO" });
    expect(fsm.currentState).to.equal("done");
    expect(order).to.deep.equal(["enter busy", "now busy", "now done"]);
  });

  it("stop runs the exit cleanups, clears timers and ignores every later event", () => {
    const clock = createFakeClock();
    const fsm = machine(clock);
    let cleaned = 0;
    fsm.onEnter("waiting", () => () => void cleaned++);
    fsm.addTransitions("idle", { GO: "waiting" });
    fsm.addTransitions("waiting", { FINISH: "done" });
    fsm.addTimedTransition("waiting", () => 10, "idle");
    fsm.start();
    fsm.send({ type: "GO" });
    fsm.stop();
    expect(cleaned).to.equal(1);
    expect(clock.pending()).to.equal(0);
    expect(fsm.send({ type: "FINISH" })).to.equal(false);
    expect(fsm.currentState).to.equal("waiting");
  });

  it("an effect that stops the machine leaves nothing running behind it", () => {
    const clock = createFakeClock();
    const fsm = machine(clock);
    fsm.addTransitions("idle", { GO: { target: "waiting", effect: () => fsm.stop() } });
    fsm.addTimedTransition("waiting", () => 10, "idle");
    fsm.start();
    fsm.send({ type: "GO" });
    expect(fsm.currentState).to.equal("idle");
    expect(clock.pending()).to.equal(0);
  });
});
