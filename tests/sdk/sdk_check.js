// One check of the official GrowthBook JavaScript SDK (npm @growthbook/growthbook, pinned in
// package-lock.json) against a running `steward serve`: the SDK loads Steward's payload from
// GET /api/features/{client_key} like it loads GrowthBook's CDN, evaluates the experiment's feature
// for N users locally, and every user's arm must equal POST /v1/assign's. Also checks the ETag (304
// on an unchanged payload) and forwards the SDK's tracking callback to POST /v1/events as
// exposures (source "sdk") - the snippet docs/api.md shows.
// Usage: node sdk_check.js URL CLIENT_KEY TOKEN EXPERIMENT USERS [FIRST_REQUEST_ID]
// Prints one JSON line; exit 1 on any mismatch.
const { GrowthBook } = require("@growthbook/growthbook");

async function main() {
  const [url, clientKey, token, experiment, usersArg, firstIdArg] = process.argv.slice(2);
  const users = Number(usersArg);
  let nextRequestId = Number(firstIdArg || 0);
  const tracked = [];
  const gb = new GrowthBook({
    apiHost: url,
    clientKey,
    // The tracking callback: forward each exposure the SDK decides to Steward's event log.
    trackingCallback: (exp, result) => {
      if (nextRequestId > 0) {
        tracked.push({ type: "exposure", source: "sdk", request_id: nextRequestId++, user_id: result.hashValue,
                       experiment: exp.key, arm: String(result.value) });
      }
    },
  });
  const init = await gb.init({ timeout: 5000, skipCache: true });
  if (!init.success) throw new Error("the SDK could not load the payload: " + JSON.stringify(init));

  const ids = [];
  for (let i = 0; i < users; i++) ids.push(i % 7 ? "user-" + i : "usér-ü-" + i + "-😀");
  const sdk = [];
  for (const id of ids) {
    await gb.setAttributes({ user_id: id });
    const r = gb.evalFeature(experiment);
    sdk.push({ value: r.value, inExperiment: !!(r.experimentResult && r.experimentResult.inExperiment) });
  }
  gb.destroy();

  // Steward's own answer, 10,000 users a request.
  const headers = { Authorization: "Bearer " + token, "Content-Type": "application/json" };
  const served = [];
  for (let i = 0; i < ids.length; i += 10000) {
    const res = await fetch(url + "/v1/assign", { method: "POST", headers,
      body: JSON.stringify({ experiment, user_ids: ids.slice(i, i + 10000) }) });
    if (res.status !== 200) throw new Error("/v1/assign: HTTP " + res.status + " " + (await res.text()));
    served.push(...(await res.json()).assignments);
  }
  let mismatches = 0, inTreatment = 0, inExperiment = 0, firstMismatch = null;
  for (let i = 0; i < ids.length; i++) {
    const a = served[i], s = sdk[i];
    const same = a.in_experiment === s.inExperiment && (!a.in_experiment || a.arm === s.value);
    if (!same) {
      mismatches++;
      if (!firstMismatch) firstMismatch = { user: ids[i], steward: a, sdk: s };
    }
    if (s.inExperiment) inExperiment++;
    if (s.inExperiment && s.value !== "control") inTreatment++;
  }

  // ETag: an unchanged payload is 304 for a polling SDK.
  const first = await fetch(url + "/api/features/" + clientKey);
  const etag = first.headers.get("etag");
  const again = await fetch(url + "/api/features/" + clientKey, { headers: { "If-None-Match": etag } });

  let eventsAccepted = 0;
  if (tracked.length > 0) {
    const body = tracked.map((e) => JSON.stringify(e)).join("\n") + "\n";
    const res = await fetch(url + "/v1/events", { method: "POST", headers: { ...headers, "Content-Type": "application/x-ndjson" }, body });
    if (res.status !== 200) throw new Error("/v1/events: HTTP " + res.status + " " + (await res.text()));
    eventsAccepted = (await res.json()).accepted;
  }
  console.log(JSON.stringify({ users, mismatches, in_experiment: inExperiment, in_treatment: inTreatment,
                               etag_304: again.status === 304, tracked: tracked.length, events_accepted: eventsAccepted,
                               first_mismatch: firstMismatch }));
  process.exit(mismatches === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error("sdk_check: " + e.message);
  process.exit(2);
});
