/**
 * Loaded before every test file (see .mocharc.json): the test environment, quiet logs, and the
 * guard that refuses to run against a database whose name does not say it is for tests.
 */
process.env.NODE_ENV = "test";
process.env.LOG_LEVEL ??= "error";

const url = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/syncforge_test";
const name = url.split("/").pop()?.split("?")[0] ?? "";
if (!/test/i.test(name)) {
  throw new Error(`Refusing to run tests against database "${name}": its name must contain "test".`);
}
process.env.TEST_DATABASE_URL = url;

// Hocuspocus reports every refused connection or write with console.error; route library console
// output through winston (quiet at the test level) as the server process does.
const { routeConsoleToLogger } = await import("../server/logger.ts");
routeConsoleToLogger();
