/**
 * The one server-side event primitive (the shape of client/core/event-source.ts): callbacks called
 * in subscription order; subscribing returns its own unsubscribe. A throwing listener is isolated
 * so one feature cannot stop the others from hearing an event.
 */
export type Unsubscribe = () => void;

export interface Observable<T> {
  subscribe(callback: (value: T) => void): Unsubscribe;
}

export interface EventSource<T> extends Observable<T> {
  notify(value: T): void;
  count(): number;
}

export function makeEventSource<T>(onListenerError?: (error: unknown) => void): EventSource<T> {
  const callbacks = new Set<(value: T) => void>();
  return {
    subscribe(callback) {
      const entry = (value: T) => callback(value);
      callbacks.add(entry);
      return () => {
        callbacks.delete(entry);
      };
    },
    notify(value) {
      for (const callback of [...callbacks]) {
        try {
          callback(value);
        } catch (error) {
          onListenerError?.(error);
        }
      }
    },
    count: () => callbacks.size,
  };
}
