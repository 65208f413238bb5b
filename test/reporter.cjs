// Mocha's spec reporter plus the closing line CI reads: "N passed, N failed".
const Mocha = require("mocha");

class SyncForgeReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once("end", () => {
      const { passes, failures, pending } = this.stats;
      process.stdout.write(`\n${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ""}\n`);
    });
  }
}

module.exports = SyncForgeReporter;
