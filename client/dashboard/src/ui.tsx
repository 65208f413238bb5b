/**
 * Shared building blocks: data loading with loading and error states, labelled form fields,
 * notices, and a confirmation that asks the user to type a name before a destructive action.
 */
import { useCallback, useEffect, useId, useRef, useState, type FormEvent, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from "react";
import { ApiError } from "./api.ts";

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/**
 * Run `load` now and whenever `deps` change; `reload()` runs it again (after a write). An answer
 * that arrives after the deps changed is dropped, so a slow page never overwrites a newer one.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error: unknown) => current && setState({ error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Run `action` on submit with a busy flag and an error message. */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (...args: A) => {
    setBusy(true);
    setError(null);
    try {
      await action(...args);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, setError };
}

export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

export function Spinner({ label = "Loading…" }: { label?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      {label}
    </p>
  );
}

export function ErrorNotice({ error, retry }: { error: unknown; retry?: () => void }) {
  if (!error) return null;
  return (
    <div className="notice error" role="alert">
      <span>{messageOf(error)}</span>
      {retry && (
        <button type="button" className="secondary" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** The three states of a loaded value: loading, error (with retry), or `children(data)`. */
export function LoadState<T>({ loaded, children, label }: { loaded: Loaded<T>; children: (data: T) => ReactNode; label?: string }) {
  if (loaded.error) return <ErrorNotice error={loaded.error} retry={loaded.reload} />;
  if (loaded.data === undefined) return <Spinner label={label} />;
  return <>{children(loaded.data)}</>;
}

export function Notice({ kind = "info", children }: { kind?: "info" | "success" | "warning" | "error"; children: ReactNode }) {
  return (
    <div className={`notice ${kind}`} role={kind === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}

export function Field({ label, hint, ...input }: InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...input} />
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

/** A labelled <select>; `hideLabel` keeps the label for assistive technology only (in tables). */
export function SelectField({ label, hideLabel, options, ...select }: SelectHTMLAttributes<HTMLSelectElement> & { label: string; hideLabel?: boolean; options: Array<[string, string]> }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id} className={hideLabel ? "visually-hidden" : undefined}>
        {label}
      </label>
      <select id={id} {...select}>
        {options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

export function Form({ onSubmit, children, className }: { onSubmit: () => void | Promise<void>; children: ReactNode; className?: string }) {
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void onSubmit();
  };
  return (
    <form onSubmit={submit} className={className}>
      {children}
    </form>
  );
}

/**
 * A destructive action behind a dialog: the user types `expected` (a name) to enable the button.
 * A native <dialog> traps focus and closes on Escape.
 */
export function ConfirmButton(props: {
  label: string;
  title: string;
  expected?: string;
  confirmLabel?: string;
  onConfirm: () => Promise<void>;
  className?: string;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState("");
  const { run, busy, error, setError } = useAction(async () => {
    await props.onConfirm();
    dialog.current?.close();
  });
  const open = () => {
    setTyped("");
    setError(null);
    dialog.current?.showModal();
  };
  const ready = props.expected === undefined || typed === props.expected;
  return (
    <>
      <button type="button" className={props.className ?? "danger"} onClick={open}>
        {props.label}
      </button>
      <dialog ref={dialog} aria-label={props.title}>
        <Form onSubmit={() => (ready ? run() : undefined)}>
          <h2>{props.title}</h2>
          {props.expected !== undefined && (
            <Field label={`Type “${props.expected}” to confirm`} value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" />
          )}
          <ErrorNotice error={error} />
          <div className="row">
            <button type="submit" className="danger" disabled={!ready || busy}>
              {busy ? "Working…" : (props.confirmLabel ?? props.label)}
            </button>
            <button type="button" className="secondary" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
          </div>
        </Form>
      </dialog>
    </>
  );
}

export function formatDate(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return new Date(value).toLocaleString();
}

/** Re-render every `ms` (countdowns). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  useEffect(() => {
    if (typeof children === "string") document.title = `${children} · SyncForge`;
  }, [children]);
  return (
    <div className="page-title">
      <h1>{children}</h1>
      {actions && <div className="row">{actions}</div>}
    </div>
  );
}
