/**
 * A jsdom window installed as the globals React and Testing Library expect, for component tests
 * in Node; `uninstall` puts the previous globals back.
 */
import { JSDOM } from "jsdom";

type RTL = typeof import("@testing-library/react");

const GLOBALS = ["window", "document", "navigator", "HTMLElement", "Node", "MutationObserver", "getComputedStyle", "IS_REACT_ACT_ENVIRONMENT", "requestAnimationFrame"] as const;

export interface Dom {
  rtl: RTL;
  window: JSDOM["window"];
  uninstall(): void;
}

/** `act`: true when the test drives React itself (user events), false for network-driven updates. */
export async function installDom(options: { act?: boolean } = {}): Promise<Dom> {
  const dom = new JSDOM("<!doctype html><html><body></body></html>", { url: "http://localhost/", pretendToBeVisual: true });
  const values: Record<(typeof GLOBALS)[number], unknown> = {
    window: dom.window,
    document: dom.window.document,
    navigator: dom.window.navigator,
    HTMLElement: dom.window.HTMLElement,
    Node: dom.window.Node,
    MutationObserver: dom.window.MutationObserver,
    getComputedStyle: dom.window.getComputedStyle.bind(dom.window),
    IS_REACT_ACT_ENVIRONMENT: options.act ?? false,
    requestAnimationFrame: dom.window.requestAnimationFrame.bind(dom.window),
  };
  const saved = new Map<string, PropertyDescriptor | undefined>();
  for (const name of GLOBALS) {
    saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
    Object.defineProperty(globalThis, name, { value: values[name], configurable: true, writable: true });
  }
  process.env.RTL_SKIP_AUTO_CLEANUP = "true";
  const rtl = await import("@testing-library/react");
  return {
    rtl,
    window: dom.window,
    uninstall() {
      rtl.cleanup();
      for (const [name, descriptor] of saved) {
        if (descriptor) Object.defineProperty(globalThis, name, descriptor);
        else delete (globalThis as Record<string, unknown>)[name];
      }
      dom.window.close();
    },
  };
}
