/**
 * The one event primitive under every SDK event (as Liveblocks' core has): a set of callbacks that
 * `notify` calls in subscription order. Subscribing returns its own unsubscribe function, which is
 * exactly the shape React's useSyncExternalStore wants, so hooks need no adapter.
 */

export type Callback<T> = (value: T) => void;
export type Unsubscribe = () => void;

/** The read side handed to users: they can listen, not emit. */
export interface Observable<T> {
  subscribe(callback: Callback<T>): Unsubscribe;
  /** Resolve with the first value for which `predicate` holds (or the next value). */
  waitUntil(predicate?: (value: T) => boolean): Promise<T>;
}

export interface EventSource<T> extends Observable<T> {
  notify(value: T): void;
  count(): number;
  clear(): void;
  observable: Observable<T>;
}

export function makeEventSource<T>(): EventSource<T> {
  const callbacks = new Set<Callback<T>>();

  function subscribe(callback: Callback<T>): Unsubscribe {
    // Wrap so the same function may subscribe twice and unsubscribe independently.
    const entry: Callback<T> = (value) => callback(value);
    callbacks.add(entry);
    return () => {
      callbacks.delete(entry);
    };
  }

  function waitUntil(predicate?: (value: T) => boolean): Promise<T> {
    return new Promise((resolve) => {
      const unsubscribe = subscribe((value) => {
        if (predicate && !predicate(value)) return;
        unsubscribe();
        resolve(value);
      });
    });
  }

  const observable: Observable<T> = { subscribe, waitUntil };
  return {
    subscribe,
    waitUntil,
    notify(value: T) {
      for (const callback of [...callbacks]) callback(value);
    },
    count: () => callbacks.size,
    clear: () => callbacks.clear(),
    observable,
  };
}
