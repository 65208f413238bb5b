/**
 * Work that runs after a request has been answered. The account endpoints answer before the
 * writes and mail that depend on whether an address has an account, so neither their answer nor
 * its timing says which it was. The work is tracked, so shutdown can wait for it before closing
 * the database and the mailer; a failure is logged, never thrown at a caller who already left.
 */
import { logger } from "../logger.ts";

export class BackgroundWork {
  private readonly pending = new Set<Promise<void>>();

  /** Start `work` now without waiting for it; `what` names it in the log if it fails. */
  run(what: string, work: () => Promise<void>): void {
    const task: Promise<void> = Promise.resolve()
      .then(work)
      .catch((error: Error) => {
        logger.error("Background work failed", { what, error: error.message });
      })
      .finally(() => this.pending.delete(task));
    this.pending.add(task);
  }

  /** Wait for the work started so far (and what it starts), at most `timeoutMs`; false on timeout. */
  async idle(timeoutMs = Infinity): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = Number.isFinite(left) ? new Promise<void>((resolve) => (timer = setTimeout(resolve, left))) : null;
      await Promise.race([Promise.allSettled([...this.pending]), ...(timeout ? [timeout] : [])]);
      clearTimeout(timer);
    }
    return true;
  }
}
