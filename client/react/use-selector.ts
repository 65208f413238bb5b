/**
 * useSyncExternalStore with a selector: a component re-renders only when what it selects changes
 * (by `isEqual`), not whenever the store does. The same idea as React's
 * use-sync-external-store/with-selector, in a few lines and without the dependency.
 */
import { useCallback, useRef, useSyncExternalStore } from "react";

export type Selector<S, R> = (snapshot: S) => R;
export type EqualityFn<R> = (a: R, b: R) => boolean;

export function useSelector<S, R>(
  subscribe: (onChange: () => void) => () => void,
  getSnapshot: () => S,
  selector: Selector<S, R>,
  isEqual: EqualityFn<R> = Object.is,
): R {
  const memo = useRef<{ snapshot: S; selected: R } | null>(null);
  const selectorRef = useRef(selector);
  const isEqualRef = useRef(isEqual);
  selectorRef.current = selector;
  isEqualRef.current = isEqual;

  const getSelected = useCallback((): R => {
    const snapshot = getSnapshot();
    const previous = memo.current;
    if (previous && previous.snapshot === snapshot) return previous.selected;
    const selected = selectorRef.current(snapshot);
    if (previous && isEqualRef.current(previous.selected, selected)) {
      memo.current = { snapshot, selected: previous.selected };
      return previous.selected;
    }
    memo.current = { snapshot, selected };
    return selected;
  }, [getSnapshot]);

  return useSyncExternalStore(subscribe, getSelected, getSelected);
}

/** Shallow equality of arrays and plain objects (one level), for selectors that build them. */
export function shallow<T>(a: T, b: T): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || !Object.is((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
