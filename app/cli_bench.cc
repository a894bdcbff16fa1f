#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/cli.h"
#include "app/fairness_tradeoff.h"
#include "app/offline_online.h"
#include "app/http_load.h"
#include "app/ingest_bench.h"
#include "app/serve_bench.h"
#include "common/file.h"
#include "common/percentile.h"
#include "common/rng.h"
#include "experiment/assigner.h"
#include "models/bandit.h"
#include "models/hybrid.h"
#include "shadow/ope.h"
#include "shadow/runner.h"
#include "app/paths.h"
#include "data/goodbooks.h"
#include "sim/world.h"
#include <thread>
#include "models/vector_index.h"

namespace steward::app {
namespace {

struct BenchFlags {
  IngestBenchOptions ingest;
  std::string sync = "full";
  int64_t users = 1'000'000;
  int dim = 78;
  int64_t items = 200000;
  int queries = 1000;
  int embed_dim = 128;
  int candidates = 1000;
  int64_t rec_items = 10000;
  std::string shadow = "on";
  int threads = 1;
  std::string path = "recommend";
  std::string model = "baseline-genre";
  std::string db;
  double rate = 5000;
  int64_t serve_requests = 20000;
  ScreenFiles screen;  // bench serve: the safety screen
  int k = 10;
  int requests = 2000;
  std::string factory = "HNSW32";
  int ef_search = 256;
  int64_t arms = 1000;
  int64_t updates = 200000;
  bool json = false;
  HttpLoadOptions http;
  std::string body_file;
  bool http_events = false;
  FairnessTradeoffOptions fairness;
  std::string fairness_seeds = "1,2,3", fairness_tolerances = "0.02,0.05,0.1,0.2,0.3,0.5", fairness_targets, fairness_markdown;
};

// A comma-separated list of numbers; errors name the flag.
std::vector<double> ParseNumbers(const std::string& flag, const std::string& text) {
  std::vector<double> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string part = text.substr(start, comma - start);
    char* end = nullptr;
    const double v = std::strtod(part.c_str(), &end);
    if (part.empty() || end != part.c_str() + part.size()) Fail(InvalidArgument(flag + ": '" + part + "' is not a number"));
    out.push_back(v);
    start = comma + 1;
  }
  return out;
}

}  // namespace

// bench feedback-loop, bench cold-start (issue #12; app/cli_bench_paper.cc).
void AddPaperBenchCommands(CLI::App* bench);

void AddBenchCommands(CLI::App& app) {
  auto flags = std::make_shared<BenchFlags>();
  auto* bench = app.add_subcommand("bench", "Measure performance");
  AddPaperBenchCommands(bench);

  auto* fairness = bench->add_subcommand(
      "fairness", "The hybrid's provider exposure constraint in the simulator: CTR and exposure disparity with and without it, per seed and tolerance");
  fairness->add_option("--seeds", flags->fairness_seeds, "Comma-separated world and model seeds")->capture_default_str();
  fairness->add_option("--tolerances", flags->fairness_tolerances, "Comma-separated constraint tolerances, each in [0, 1)")->capture_default_str();
  fairness->add_option("--targets", flags->fairness_targets, "Target exposure shares HEAD,MID,TAIL (default: catalog shares)");
  fairness->add_option("--users", flags->fairness.users, "Users at the start of each simulated world")->capture_default_str()->check(InRange(1, 1e6));
  fairness->add_option("--days", flags->fairness.days, "Simulated days per run")->capture_default_str()->check(InRange(1, 3650));
  fairness->add_option("--chart", flags->fairness.chart_path, "Write the trade-off chart (PNG) here");
  fairness->add_option("--data", flags->fairness.data_dir, "Data directory");
  fairness->add_flag("--json", flags->json, "Print one JSON object (otherwise a Markdown table)");
  fairness->add_option("--markdown", flags->fairness_markdown, "Also write the Markdown table to this file (scripts/paper-table.sh)");
  fairness->callback([flags] {
    FairnessTradeoffOptions o = flags->fairness;
    o.seeds.clear();
    for (double s : ParseNumbers("--seeds", flags->fairness_seeds)) {
      if (s < 0 || s != static_cast<double>(static_cast<uint64_t>(s))) Fail(InvalidArgument("--seeds: each seed is a whole number >= 0"));
      o.seeds.push_back(static_cast<uint64_t>(s));
    }
    o.tolerances = ParseNumbers("--tolerances", flags->fairness_tolerances);
    for (double t : o.tolerances) {
      if (!(t >= 0 && t < 1)) Fail(InvalidArgument("--tolerances: each tolerance must be in [0, 1)"));
    }
    if (!flags->fairness_targets.empty()) {
      o.targets = ParseNumbers("--targets", flags->fairness_targets);
      if (o.targets.size() != 3) Fail(InvalidArgument("--targets needs 3 shares (head,mid,tail)"));
    }
    o.cancel = &Interrupted();
    auto r = RunFairnessTradeoff(o);
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kInvalidArgument && !o.targets.empty()) Fail(r.status().WithContext("--targets"));
      Fail(r.status());
    }
    if (!flags->fairness_markdown.empty()) {
      std::ofstream md(flags->fairness_markdown, std::ios::trunc);
      md << FairnessTradeoffMarkdown(*r);
      if (!md.flush()) Fail(IoError("--markdown: cannot write " + flags->fairness_markdown));
    }
    if (flags->json) {
      PrintJsonLine(FairnessTradeoffJson(*r));
    } else {
      std::printf("%s", FairnessTradeoffMarkdown(*r).c_str());
    }
  });
  // bench offline-online (issue #12, deliverable 4): app/offline_online.h.
  {
    struct OfflineOnlineFlags {
      OfflineOnlineOptions options;
      std::string seeds = "1,2,3";
      std::string markdown;
      bool json = false;
    };
    auto oo = std::make_shared<OfflineOnlineFlags>();
    auto* cmd = bench->add_subcommand(
        "offline-online",
        "The paper's offline vs online lift: per seed the demo runs (shadow phase, then the ramp); the shadow model's "
        "off-policy lift from the shadow phase against the ramp's measured lift");
    cmd->add_option("--seeds", oo->seeds, "Comma-separated seeds, one demo run each")->capture_default_str();
    cmd->add_option("--requests", oo->options.requests, "Requests per demo run")->capture_default_str()->check(InRange(100, 1e8));
    cmd->add_option("--experiment", oo->options.experiment_file, "Experiment definition (default: data/experiments/demo.yaml)");
    cmd->add_option("--data", oo->options.data_dir, "Data directory");
    cmd->add_option("--work-dir", oo->options.work_dir, "Keep the per-seed databases here (default: a temporary directory, removed)");
    cmd->add_option("--markdown", oo->markdown, "Write the Markdown fragment for docs/paper.md (paper beside ours, the command) to this file");
    cmd->add_flag("--json", oo->json, "Print one JSON object (otherwise the Markdown fragment)");
    cmd->callback([oo, cmd] {
      OfflineOnlineOptions o = oo->options;
      o.seeds.clear();
      for (double s : ParseNumbers("--seeds", oo->seeds)) {
        if (s < 0 || s != static_cast<double>(static_cast<uint64_t>(s))) Fail(InvalidArgument("--seeds: each seed is a whole number >= 0"));
        o.seeds.push_back(static_cast<uint64_t>(s));
      }
      o.progress = !oo->json;
      o.cancel = &Interrupted();
      auto r = RunOfflineOnline(o);
      if (!r.ok()) Fail(r.status());
      // The command for the fragment: the flags that change the figures (not the output flags).
      std::string command = "steward bench offline-online --seeds " + oo->seeds;
      if (cmd->count("--requests")) command += " --requests " + std::to_string(o.requests);
      if (!o.experiment_file.empty()) command += " --experiment " + o.experiment_file;
      r->command = command;
      if (!oo->markdown.empty()) {
        const std::filesystem::path path(oo->markdown);
        const std::string dir = path.has_parent_path() ? path.parent_path().string() : ".";
        if (Status s = CreateOutputDirectory(dir); !s.ok()) Fail(s.WithContext("--markdown"));
        if (Status s = WriteTextFile(dir, path.filename().string(), OfflineOnlineMarkdown(*r)); !s.ok()) Fail(s.WithContext("--markdown"));
      }
      if (oo->json) {
        PrintJsonLine(OfflineOnlineJson(*r));
      } else {
        std::printf("%s", OfflineOnlineMarkdown(*r).c_str());
      }
    });
  }
  bench->require_subcommand(1);

  auto* ingest = bench->add_subcommand("ingest", "Durable feedback ingest through the production writer");
  ingest->add_option("--events", flags->ingest.events, "Events to write")->capture_default_str()->check(InRange(1, 1e9));
  ingest->add_option("--db", flags->ingest.db_path, "Database file (default: a temporary file, removed afterwards)");
  ingest->add_option("--sync", flags->sync, "SQLite synchronous mode: full (survives power loss) or normal (survives kill -9)")
      ->capture_default_str()
      ->check(CLI::IsMember({"full", "normal"}));
  ingest->add_option("--batch", flags->ingest.producer_batch, "Events per producer submit")->capture_default_str()->check(InRange(1, 1e6));
  ingest->add_flag("--json", flags->json, "Print {\"events\", \"seconds\", \"events_per_sec\"}");
  ingest->callback([flags] {
    IngestBenchOptions o = flags->ingest;
    o.sync = flags->sync == "normal" ? storage::SyncMode::kNormal : storage::SyncMode::kFull;
    o.progress = !flags->json;
    auto r = RunIngestBench(o);
    if (!r.ok()) Fail(r.status());
    if (flags->json) {
      PrintJsonLine(nlohmann::json{{"events", r->events}, {"seconds", r->seconds}, {"events_per_sec", r->events_per_sec},
                                   {"sync", flags->sync}, {"batches", r->batches}, {"producer_waits", r->producer_waits},
                                   {"rows_in_db", r->rows_in_db}}.dump());
    } else {
      std::printf("ingested %lld events in %.3f s: %.0f events/s (synchronous=%s, %llu group commits)\n",
                  static_cast<long long>(r->events), r->seconds, r->events_per_sec, flags->sync.c_str(),
                  static_cast<unsigned long long>(r->batches));
    }
  });

  auto* bandit = bench->add_subcommand("bandit", "Disjoint LinUCB: per-interaction updates and candidate scores per second");
  bandit->add_option("--dim", flags->dim, "Context dimension d")->capture_default_str()->check(CLI::Range(1, 1024));
  bandit->add_option("--arms", flags->arms, "Arms (candidate items)")->capture_default_str()->check(InRange(1, 1e7));
  bandit->add_option("--updates", flags->updates, "Updates to time")->capture_default_str()->check(InRange(1, 1e9));
  bandit->add_flag("--json", flags->json, "Print {\"updates_per_sec\", \"scores_per_sec\"}");
  bandit->callback([flags] {
    models::BanditOptions o;
    o.dim = flags->dim;
    models::Bandit b(o);
    Rng rng(7);
    const size_t d = static_cast<size_t>(flags->dim);
    // Contexts drawn up front; arms follow a Zipf-like popularity so some are dense, most low rank.
    std::vector<std::vector<float>> contexts(4096, std::vector<float>(d));
    for (auto& x : contexts) {
      for (float& v : x) v = static_cast<float>(rng.Normal() * 0.3);
    }
    auto pick_arm = [&] { return static_cast<int64_t>(std::floor(std::pow(rng.Uniform(), 2.0) * static_cast<double>(flags->arms))); };
    for (int64_t i = 0; i < flags->arms * 5; ++i) b.Update(pick_arm(), contexts[static_cast<size_t>(i) & 4095], rng.Bernoulli(0.05));
    std::vector<int64_t> arm_seq(static_cast<size_t>(flags->updates));
    for (auto& a : arm_seq) a = pick_arm();
    auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < flags->updates; ++i) {
      b.Update(arm_seq[static_cast<size_t>(i)], contexts[static_cast<size_t>(i) & 4095], (i % 20) == 0 ? 1.0 : 0.0);
    }
    const double update_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::vector<int64_t> candidates(static_cast<size_t>(flags->arms));
    for (size_t i = 0; i < candidates.size(); ++i) candidates[i] = static_cast<int64_t>(i);
    std::vector<double> scores;
    int64_t scored = 0;
    start = std::chrono::steady_clock::now();
    double elapsed = 0.0;
    for (int r = 0; elapsed < 1.0; ++r) {
      b.Score(candidates, contexts[static_cast<size_t>(r) & 4095], scores);
      scored += static_cast<int64_t>(candidates.size());
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    const double updates_per_sec = static_cast<double>(flags->updates) / update_s;
    const double scores_per_sec = static_cast<double>(scored) / elapsed;
    if (flags->json) {
      PrintJsonLine(nlohmann::json{{"updates_per_sec", updates_per_sec}, {"scores_per_sec", scores_per_sec}, {"dim", flags->dim},
                                   {"arms", flags->arms}, {"updates", flags->updates}}.dump());
    } else {
      std::printf("d=%d, %lld arms: %.0f updates/s, %.0f candidate scores/s\n", flags->dim, static_cast<long long>(flags->arms),
                  updates_per_sec, scores_per_sec);
    }
  });

  auto* retrieval = bench->add_subcommand("retrieval", "Recall@100 and latency of an approximate index against exact search");
  retrieval->add_option("--items", flags->items, "Indexed items")->capture_default_str()->check(InRange(1, 1e7));
  retrieval->add_option("--index", flags->factory, "FAISS factory string (HNSW32, IVF1024,Flat, Flat)")->capture_default_str();
  retrieval->add_option("--queries", flags->queries, "Queries timed")->capture_default_str()->check(InRange(1, 1e6));
  retrieval->add_option("--dim", flags->embed_dim, "Embedding dimension")->capture_default_str()->check(InRange(1, 4096));
  retrieval->add_option("--ef-search", flags->ef_search, "HNSW search depth")->capture_default_str()->check(InRange(1, 1e5));
  retrieval->add_flag("--json", flags->json, "Print {\"recall_at_100\", \"p99_us\", \"exact_p99_us\"}");
  retrieval->callback([flags] {
    const int d = flags->embed_dim;
    const int64_t n = flags->items;
    // Clustered unit vectors, like trained embeddings: 256 centres, items scattered around them.
    Rng rng(11);
    const int centres = 256;
    std::vector<float> centre(static_cast<size_t>(centres * d));
    for (float& v : centre) v = static_cast<float>(rng.Normal());
    auto sample = [&](float* out) {
      const size_t c = static_cast<size_t>(rng.UniformInt(centres));
      double norm = 0;
      for (int j = 0; j < d; ++j) {
        out[j] = centre[c * static_cast<size_t>(d) + static_cast<size_t>(j)] + static_cast<float>(rng.Normal() * 0.7);
        norm += static_cast<double>(out[j]) * out[j];
      }
      for (int j = 0; j < d; ++j) out[j] /= static_cast<float>(std::sqrt(norm));
    };
    std::vector<float> data(static_cast<size_t>(n) * static_cast<size_t>(d));
    for (int64_t i = 0; i < n; ++i) sample(&data[static_cast<size_t>(i) * static_cast<size_t>(d)]);
    std::vector<float> queries(static_cast<size_t>(flags->queries) * static_cast<size_t>(d));
    for (int q = 0; q < flags->queries; ++q) sample(&queries[static_cast<size_t>(q) * static_cast<size_t>(d)]);
    std::vector<int64_t> ids(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = i;

    auto build = [&](const std::string& factory) {
      models::VectorIndexOptions o;
      o.factory = factory;
      o.ef_search = flags->ef_search;
      auto index = models::VectorIndex::Create(d, o);
      if (!index.ok()) Fail(index.status());
      Status s = (*index)->Train(data);
      if (s.ok()) s = (*index)->Add(ids, data);
      if (!s.ok()) Fail(s);
      return std::move(index).value();
    };
    auto time_queries = [&](const models::VectorIndex& index, std::vector<std::vector<int64_t>>& results) {
      std::vector<double> us;
      results.assign(static_cast<size_t>(flags->queries), {});
      for (int q = 0; q < flags->queries; ++q) {
        std::span<const float> query(&queries[static_cast<size_t>(q) * static_cast<size_t>(d)], static_cast<size_t>(d));
        const auto t0 = std::chrono::steady_clock::now();
        auto r = index.Search(query, 100);
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
        if (!r.ok()) Fail(r.status());
        for (const auto& nb : *r) results[static_cast<size_t>(q)].push_back(nb.id);
      }
      return std::make_pair(Percentile(us, 0.50), Percentile(us, 0.99));
    };
    models::SetVectorSearchThreads(2);  // build with both cores
    const auto t_build = std::chrono::steady_clock::now();
    auto approx = build(flags->factory);
    const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_build).count();
    auto exact = build("Flat");
    models::SetVectorSearchThreads(1);  // search latency on one thread
    std::vector<std::vector<int64_t>> approx_ids, exact_ids;
    const auto [p50, p99] = time_queries(*approx, approx_ids);
    const auto [exact_p50, exact_p99] = time_queries(*exact, exact_ids);
    double recall = 0;
    for (int q = 0; q < flags->queries; ++q) {
      auto a = approx_ids[static_cast<size_t>(q)], e = exact_ids[static_cast<size_t>(q)];
      std::sort(a.begin(), a.end());
      std::sort(e.begin(), e.end());
      std::vector<int64_t> common;
      std::set_intersection(a.begin(), a.end(), e.begin(), e.end(), std::back_inserter(common));
      recall += static_cast<double>(common.size()) / static_cast<double>(std::max<size_t>(e.size(), 1));
    }
    recall /= flags->queries;
    const nlohmann::json j = {{"recall_at_100", recall}, {"p50_us", p50}, {"p99_us", p99}, {"exact_p50_us", exact_p50},
                              {"exact_p99_us", exact_p99}, {"speedup_p99", exact_p99 / p99}, {"items", n},
                              {"index", flags->factory}, {"dim", d}, {"ef_search", flags->ef_search}, {"build_seconds", build_s}};
    if (flags->json) {
      PrintJsonLine(j.dump());
    } else {
      std::printf("%s over %lld items: recall@100 %.4f, p99 %.0f us vs exact %.0f us (%.1fx)\n", flags->factory.c_str(),
                  static_cast<long long>(n), recall, p99, exact_p99, exact_p99 / p99);
    }
  });

  auto* recommend = bench->add_subcommand("recommend", "Full hybrid pipeline on one thread: retrieval, bandit scoring of every candidate, re-ranking");
  recommend->add_option("--items", flags->rec_items, "Catalog items")->capture_default_str()->check(InRange(1, 1e7));
  recommend->add_option("--candidates", flags->candidates, "Candidates retrieved and scored")->capture_default_str()->check(InRange(1, 1e6));
  recommend->add_option("--k", flags->k, "Items per list")->capture_default_str()->check(CLI::Range(1, 100));
  recommend->add_option("--requests", flags->requests, "Requests timed")->capture_default_str()->check(InRange(1, 1e8));
  recommend->add_flag("--json", flags->json, "Print {\"p50_us\", \"p99_us\", \"qps\"}");
  recommend->callback([flags] {
    const int64_t n = flags->rec_items;
    Rng rng(21);
    // A synthetic catalog: 12 categories, random popularity, 6 hashed content fields per item.
    auto catalog = std::make_shared<models::Catalog>();
    catalog->num_categories = 12;
    std::vector<models::SparseFeatures> features;
    models::ItemFeaturizer featurizer(1024);
    for (int64_t i = 0; i < n; ++i) {
      const int category = static_cast<int>(rng.UniformInt(12));
      catalog->items.push_back({i, category, static_cast<int>(rng.UniformInt(3)), rng.Normal(), 0});
      features.push_back(featurizer.Featurize({{"author", {std::to_string(rng.UniformInt(static_cast<uint64_t>(n / 3 + 1)))}},
                                               {"genre", {std::to_string(category)}},
                                               {"decade", {std::to_string(1950 + 10 * rng.UniformInt(7))}},
                                               {"title", {std::to_string(rng.UniformInt(5000)), std::to_string(rng.UniformInt(5000))}}}));
    }
    models::HybridOptions o;
    o.candidates = flags->candidates;
    o.popular_candidates = 0;
    models::HybridRecommender hybrid(catalog, std::move(features), o);
    models::SetVectorSearchThreads(1);
    // Warm the bandit: 20,000 served lists with feedback, so many arms have their own models.
    std::vector<std::vector<int32_t>> histories(500);
    for (auto& h : histories) {
      for (int j = 0; j < 5; ++j) h.push_back(static_cast<int32_t>(rng.UniformInt(static_cast<uint64_t>(n))));
    }
    int64_t request_id = 0;
    auto serve = [&](size_t user) {
      models::RecommendRequest rq;
      rq.request_id = ++request_id;
      rq.user_id = static_cast<int64_t>(user);
      rq.ts_ms = 1767225600000 + request_id * 1000;
      rq.history = histories[user];
      rq.k = flags->k;
      return hybrid.Recommend(rq);
    };
    for (int w = 0; w < 20000; ++w) {
      const size_t user = static_cast<size_t>(rng.UniformInt(histories.size()));
      const auto rec = serve(user);
      std::vector<int32_t> items;
      std::vector<char> clicked;
      for (const auto& s : rec.items) {
        items.push_back(s.item);
        clicked.push_back(rng.Bernoulli(0.03) ? 1 : 0);
      }
      hybrid.ObserveList({request_id, static_cast<int64_t>(user), 0, items, clicked});
    }
    std::vector<double> us;
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < flags->requests; ++r) {
      const size_t user = static_cast<size_t>(rng.UniformInt(histories.size()));
      const auto t0 = std::chrono::steady_clock::now();
      const auto rec = serve(user);
      us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
      if (rec.items.empty()) Fail(Internal("the pipeline returned an empty list"));
    }
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double p50 = Percentile(us, 0.50), p99 = Percentile(us, 0.99);
    const double qps = flags->requests / total;
    if (flags->json) {
      PrintJsonLine(nlohmann::json{{"p50_us", p50}, {"p99_us", p99}, {"qps", qps}, {"items", n},
                                   {"candidates", flags->candidates}, {"k", flags->k}}.dump());
    } else {
      std::printf("%lld items, %d candidates, k=%d: p50 %.0f us, p99 %.0f us, %.0f requests/s on one thread\n",
                  static_cast<long long>(n), flags->candidates, flags->k, p50, p99, qps);
    }
  });

  auto* serve = bench->add_subcommand(
      "serve", "The serving pipeline from N threads: latency and throughput of the served path (or assignment only), shadow on or off");
  serve->add_option("--shadow", flags->shadow, "on or off")->capture_default_str()->check(CLI::IsMember({"on", "off"}));
  serve->add_option("--rate", flags->rate, "Offered load in requests per second over all threads; 0 serves as fast as possible")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  serve->add_option("--requests", flags->serve_requests, "Requests")->capture_default_str()->check(InRange(1, 1e8));
  serve->add_option("--threads", flags->threads, "Serving threads")->capture_default_str()->check(CLI::Range(1, 64));
  serve->add_option("--path", flags->path, "recommend (the whole request path) or assign (assignment only)")
      ->capture_default_str()
      ->check(CLI::IsMember({"recommend", "assign"}));
  serve->add_option("--model", flags->model, "The arms' model (any model name, e.g. baseline-genre or hybrid)")->capture_default_str();
  serve->add_option("--db", flags->db, "Log exposures to this database and take control state from it (default: no logging)");
  serve->add_flag("--json", flags->json, "Print {\"p50_us\", \"p99_us\", \"qps\", \"shadow_dropped\", \"threads\"}");
  AddSafetyScreenOptions(serve, &flags->screen);
  serve->callback([flags] {
    ServeBenchOptions o;
    o.shadow = flags->shadow == "on";
    o.rate = flags->rate;
    o.requests = flags->serve_requests;
    o.threads = flags->threads;
    o.assign_only = flags->path == "assign";
    o.model = flags->model;
    o.db_path = flags->db;
    o.screen = flags->screen;
    o.progress = !flags->json;
    auto r = RunServeBench(o);
    if (!r.ok()) Fail(r.status());
    const nlohmann::json j = {{"p50_us", r->p50_us}, {"p99_us", r->p99_us}, {"qps", r->qps}, {"shadow", flags->shadow},
                              {"shadow_dropped", r->shadow_dropped}, {"offered_rate", flags->rate}, {"threads", flags->threads},
                              {"path", flags->path}, {"model", flags->model}, {"requests", flags->serve_requests},
                              {"logged", !flags->db.empty()},
                              {"screen", !flags->screen.policy_file.empty() || !flags->screen.risk_model_file.empty()}};
    if (flags->json) {
      PrintJsonLine(j.dump());
    } else {
      std::printf("%s\n", j.dump(2).c_str());
    }
  });

  auto* http = bench->add_subcommand(
      "http", "Load a running HTTP service: open-loop fixed rate (latency from the intended send time) or NDJSON event ingest");
  HttpLoadOptions& h = flags->http;
  http->add_option("--url", h.url, "The service, http://HOST:PORT")->required();
  http->add_option("--token", h.token, "Bearer token (a service-role token for /v1/recommend, /v1/assign, /v1/events)");
  auto* path_opt = http->add_option("--path", h.path, "Request target of the open-loop mode (POST)")->capture_default_str();
  auto* body_file_opt = http->add_option("--body-file", flags->body_file,
                                     "Send this file as every request's body (default: a generated body per request, see --users)");
  http->add_option("--users", h.users, "Distinct user ids in generated bodies and exposures (u0 .. u<N-1>)")
      ->capture_default_str()
      ->check(InRange(1, 1e9))
      ->excludes(body_file_opt);
  http->add_option("--experiment", h.experiment, "Experiment named in generated bodies and exposures")->capture_default_str();
  auto* rate_opt = http->add_option("--rate", h.rate, "Offered requests per second (open-loop mode)")->capture_default_str()->check(InRange(0.001, 1e6));
  http->add_option("--duration", h.duration_s, "Seconds of schedule (open loop) or of sending (--events)")
      ->capture_default_str()
      ->check(InRange(0.1, 3600));
  http->add_option("--connections", h.connections, "Keep-alive connections, one thread each")->capture_default_str()->check(InRange(1, 1024));
  http->add_option("--seed", h.seed, "Seed of generated user ids and items")->capture_default_str();
  http->add_option("--timeout-ms", h.timeout_ms, "Per-request timeout (connect, write, read); a timeout counts as an error")
      ->capture_default_str()
      ->check(InRange(1, 600000));
  auto* events_opt = http->add_flag("--events", flags->http_events,
                                "Ingest mode: POST NDJSON batches of external exposures to /v1/events, closed loop, for --duration");
  http->add_option("--batch-lines", h.batch_lines, "Exposures per batch (--events)")->capture_default_str()->check(InRange(1, 1e6))->needs(events_opt);
  http->add_option("--first-request-id", h.first_request_id, "First exposure request id; ids count up, unique per database (--events)")
      ->capture_default_str()
      ->check(InRange(1, 4e18))
      ->needs(events_opt);
  http->add_option("--items-per-event", h.items_per_event, "Catalog items (ids 1..10000) per exposure (--events)")
      ->capture_default_str()
      ->check(InRange(0, 100))
      ->needs(events_opt);
  http->add_option("--arms", h.arms, "Arm names used in turn, comma separated (--events)")->capture_default_str()->needs(events_opt);
  body_file_opt->excludes(events_opt);
  path_opt->excludes(events_opt);
  rate_opt->excludes(events_opt);
  http->add_flag("--json", flags->json, "Print the result as one JSON line (default: indented JSON)");
  http->callback([flags] {
    HttpLoadOptions o = flags->http;
    o.progress = true;  // stderr only; stdout carries the JSON
    o.stop = &Interrupted();
    if (!flags->body_file.empty()) {
      auto body = ReadFileBounded(flags->body_file, 16 << 20, "--body-file");
      if (!body.ok()) Fail(body.status());
      o.body = std::move(body).value();
      if (o.body.empty()) Fail(InvalidArgument("--body-file: '" + flags->body_file + "' is empty"));
    }
    auto print = [&](const nlohmann::json& j) {
      if (flags->json) {
        PrintJsonLine(j.dump());
      } else {
        std::printf("%s\n", j.dump(2).c_str());
      }
    };
    if (flags->http_events) {
      auto r = RunHttpIngest(o);
      if (!r.ok()) Fail(r.status());
      print({{"events_per_sec", r->events_per_sec}, {"events", r->events_accepted}, {"seconds", r->seconds},
             {"batches", r->batches}, {"batch_lines", o.batch_lines}, {"lines_rejected", r->lines_rejected},
             {"status_503", r->status_503}, {"errors", r->errors}, {"batch_p50_ms", r->batch_p50_ms},
             {"batch_p99_ms", r->batch_p99_ms}, {"connections", o.connections}, {"first_error", r->first_error}});
      if (r->events_accepted == 0) Fail(Unavailable("no event was acknowledged: " + r->first_error));
      return;
    }
    auto r = RunHttpLoad(o);
    if (!r.ok()) Fail(r.status());
    nlohmann::json statuses = nlohmann::json::object();
    for (const auto& [code, n] : r->status_counts) statuses[std::to_string(code)] = n;
    print({{"rate_offered", r->rate_offered}, {"rate_achieved", r->rate_achieved}, {"requests", r->requests},
           {"errors", r->errors}, {"p50_ms", r->p50_ms}, {"p95_ms", r->p95_ms}, {"p99_ms", r->p99_ms}, {"max_ms", r->max_ms},
           {"transport_errors", r->transport_errors}, {"status_counts", statuses}, {"seconds", r->seconds},
           {"connections", o.connections}, {"path", o.path}, {"first_error", r->first_error}});
    if (r->requests > 0 && r->errors == r->requests) Fail(Unavailable("every request failed: " + r->first_error));
  });

  auto* ope = bench->add_subcommand("ope", "Off-policy estimators over logged rows: rows per second for all six");
  ope->add_option("--rows", flags->users, "Logged rows")->capture_default_str()->check(InRange(1, 1e9));
  ope->add_flag("--json", flags->json, "Print {\"rows_per_sec\"}");
  ope->callback([flags] {
    Rng rng(5);
    shadow::OpeData d;
    const size_t n = static_cast<size_t>(flags->users);
    d.reward.resize(n);
    d.weight.resize(n);
    d.q_logged.resize(n);
    d.v_dm.resize(n);
    for (size_t i = 0; i < n; ++i) {
      d.reward[i] = rng.Bernoulli(0.05) ? 1.0 : 0.0;
      d.weight[i] = rng.Exponential(1.0);
      d.q_logged[i] = 0.05;
      d.v_dm[i] = 0.05;
    }
    const auto start = std::chrono::steady_clock::now();
    auto e = shadow::Evaluate(d, shadow::EstimatorNames(), shadow::OpeOptions());
    const auto g = shadow::Diagnose(d);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!e.ok()) Fail(e.status());
    const double rate = static_cast<double>(n) / seconds;
    if (flags->json) {
      PrintJsonLine(nlohmann::json{{"rows_per_sec", rate}, {"rows", n}, {"seconds", seconds}, {"estimators", 6}, {"ess", g.ess}}.dump());
    } else {
      std::printf("%zu rows through six estimators with CLT intervals and diagnostics in %.3f s: %.0f rows/s\n", n, seconds, rate);
    }
  });

  auto* assign = bench->add_subcommand("assign", "One-thread assignment throughput (GrowthBook hash v2, 2 arms)");
  assign->add_option("--users", flags->users, "Distinct user ids to assign")->capture_default_str()->check(InRange(1, 1e9));
  assign->add_flag("--json", flags->json, "Print {\"assignments_per_sec\": r}");
  assign->callback([flags] {
    experiment::ExperimentConfig config;
    config.name = config.seed = "bench-assign";
    config.arms = {{"control", "baseline", 0.5}, {"treatment", "hybrid", 0.5}};
    const experiment::Assigner assigner(config);
    std::vector<std::string> ids;
    ids.reserve(static_cast<size_t>(flags->users));
    for (int64_t i = 0; i < flags->users; ++i) ids.push_back("user-" + std::to_string(i));
    int64_t checksum = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const std::string& id : ids) checksum += assigner.Assign(id).arm_index;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = static_cast<double>(flags->users) / seconds;
    if (flags->json) {
      PrintJsonLine(nlohmann::json{{"assignments_per_sec", rate}, {"users", flags->users}, {"seconds", seconds},
                                   {"treatment_share", static_cast<double>(checksum) / static_cast<double>(flags->users)}}.dump());
    } else {
      std::printf("%lld assignments in %.3f s: %.0f per second on one thread\n", static_cast<long long>(flags->users), seconds, rate);
    }
  });
}

}  // namespace steward::app
