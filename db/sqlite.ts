/**
 * The sqlite3 module handed to Sequelize as its dialect module. Every connection Sequelize opens
 * (it opens one per transaction) gets a busy timeout, so a write waits for the lock another process
 * on the same file holds (this process queues its own writes: sqlite-sequelize.ts), and WAL
 * journaling with synchronous=NORMAL:
 * a committed write survives a crash of this process (kill -9), only an OS crash can lose the
 * last commits.
 */
import sqlite3 from "sqlite3";

type Callback = (err: Error | null) => void;

export const BUSY_TIMEOUT_MS = 15_000;

class Database extends sqlite3.Database {
  constructor(filename: string, mode: number, callback: Callback) {
    super(filename, mode, (err: Error | null) => {
      if (err) return callback(err);
      this.configure("busyTimeout", BUSY_TIMEOUT_MS);
      if (filename === ":memory:") return callback(null);
      const deadline = Date.now() + BUSY_TIMEOUT_MS;
      let pause = 5;
      // Turning a new file into WAL takes an exclusive lock. Two connections doing it at once (this
      // process' Sequelize and driver connections on a fresh database) can deadlock, and SQLite
      // then answers one of them SQLITE_BUSY at once, without its busy handler: try again.
      const configure = (): void => {
        this.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", (pragmaError: (Error & { code?: string }) | null) => {
          if (pragmaError?.code === "SQLITE_BUSY" && Date.now() < deadline) {
            setTimeout(configure, pause);
            pause = Math.min(pause * 2, 100);
            return;
          }
          // A connection that cannot be configured is closed: the open has failed.
          if (pragmaError) this.close(() => callback(pragmaError));
          else callback(null);
        });
      };
      configure();
    });
  }
}

export default { ...sqlite3, Database, OPEN_READWRITE: sqlite3.OPEN_READWRITE, OPEN_CREATE: sqlite3.OPEN_CREATE };
