/**
 * npm run db:migrate / db:rollback — apply or undo migrations against DATABASE_URL.
 */
import { loadConfig } from "../server/config.ts";
import { createDatabase } from "../db/index.ts";
import { createMigrator } from "../db/migrator.ts";

const direction = process.argv[2] === "down" ? "down" : "up";
const config = loadConfig();
const db = createDatabase(config.database);
const migrator = createMigrator(db.sequelize);
const done = direction === "up" ? await migrator.up() : await migrator.down();
process.stdout.write(`${direction === "up" ? "Applied" : "Reverted"} ${done.length} migration(s)${done.length ? `: ${done.map((m) => m.name).join(", ")}` : ""}\n`);
await db.close();
