// Prints the GrowthBook JS SDK's variation for each user id on stdin (one per line), for the
// cross-check in bench/assign_vs_growthbook_js.sh.
const { GrowthBookClient } = require("@growthbook/growthbook");
const readline = require("readline");
const client = new GrowthBookClient({});
client.initSync({ payload: { features: {} } });
const experiment = { key: "bench-assign", variations: [0, 1], weights: [0.5, 0.5], hashAttribute: "user_id",
                     hashVersion: 2, seed: "bench-assign" };
const rl = readline.createInterface({ input: process.stdin });
const out = [];
rl.on("line", (id) => out.push(client.runInlineExperiment(experiment, { attributes: { user_id: id } }).variationId));
rl.on("close", () => process.stdout.write(out.join("\n") + "\n"));
