// Baseline for `steward bench assign`: the GrowthBook JS SDK (npm @growthbook/growthbook, pinned
// in package.json) assigning N distinct users to the same 2-arm experiment with
// GrowthBookClient.runInlineExperiment, one thread. Prints one JSON line.
// Usage: node assign_bench.js [users]
const { GrowthBookClient } = require("@growthbook/growthbook");

const users = Number(process.argv[2] || 1000000);
const client = new GrowthBookClient({});
client.initSync({ payload: { features: {} } });
const experiment = {
  key: "bench-assign",
  variations: [0, 1],
  weights: [0.5, 0.5],
  hashAttribute: "user_id",
  hashVersion: 2,
  seed: "bench-assign",
};
const ids = [];
for (let i = 0; i < users; i++) ids.push("user-" + i);
const contexts = ids.map((id) => ({ attributes: { user_id: id } }));

// Warm up the JIT on a separate slice, then time one pass over every user.
for (let i = 0; i < Math.min(users, 100000); i++) client.runInlineExperiment(experiment, contexts[i]);
let treatment = 0;
const start = process.hrtime.bigint();
for (let i = 0; i < users; i++) treatment += client.runInlineExperiment(experiment, contexts[i]).variationId;
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({ users, seconds, assignments_per_sec: users / seconds, treatment_share: treatment / users }));
