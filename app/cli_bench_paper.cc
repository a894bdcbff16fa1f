// `steward bench feedback-loop`, `steward bench cold-start` and `steward bench hybrid` (issue #12):
// the paper's feedback-loop and cold-start claims measured in the simulator. Flags are parsed here;
// the runs are app/feedback_loop_bench.h and app/cold_start_bench.h.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "app/cli.h"
#include "app/cold_start_bench.h"
#include "app/feedback_loop_bench.h"
#include "app/hybrid_bench.h"

namespace steward::app {
namespace {

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::vector<uint64_t> ParseSeeds(const std::string& text) {
  std::vector<uint64_t> out;
  for (const std::string& part : SplitComma(text)) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(part.c_str(), &end, 10);
    if (part.empty() || part[0] == '-' || end != part.c_str() + part.size()) {
      Fail(InvalidArgument("--seeds: '" + part + "' is not a whole number >= 0"));
    }
    out.push_back(static_cast<uint64_t>(v));
  }
  return out;
}

std::string JoinSeeds(const std::vector<uint64_t>& seeds) {
  std::string out;
  for (size_t i = 0; i < seeds.size(); ++i) out += (i ? "," : "") + std::to_string(seeds[i]);
  return out;
}

void WriteMarkdown(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) Fail(IoError("--markdown: cannot write " + path));
}

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

struct PaperBenchFlags {
  FeedbackLoopOptions loop;
  std::string loop_seeds = "1,2,3", loop_variants, loop_markdown;
  ColdStartOptions cold;
  std::string cold_seeds = "1,2,3", cold_markdown;
  HybridBenchOptions hybrid;
  std::string hybrid_seeds = "1,2,3", hybrid_markdown;
  bool json = false;
};

}  // namespace

void AddPaperBenchCommands(CLI::App* bench) {
  auto flags = std::make_shared<PaperBenchFlags>();
  std::string all_variants;
  for (const std::string& v : FeedbackVariantNames()) all_variants += (all_variants.empty() ? "" : ",") + v;
  flags->loop_variants = all_variants;

  auto* loop = bench->add_subcommand(
      "feedback-loop",
      "Feedback-loop dampening in the simulator (paper 5.3): homogenization and exposure Gini over a long run, popularity and "
      "baseline vs the hybrid and its ablations, per seed");
  loop->add_option("--seeds", flags->loop_seeds, "Comma-separated world and model seeds")->capture_default_str();
  loop->add_option("--variants", flags->loop_variants,
                   "Comma-separated variants: popularity, baseline, hybrid, hybrid-none, hybrid-no-exploration, hybrid-no-session-cap, "
                   "hybrid-no-diversity, hybrid-ips, hybrid-balanced")
      ->capture_default_str();
  loop->add_option("--users", flags->loop.users, "Users at the start of each simulated world")->capture_default_str()->check(InRange(2, 1e6));
  loop->add_option("--days", flags->loop.days, "Simulated days per run")->capture_default_str()->check(InRange(1, 3650));
  loop->add_option("--window-days", flags->loop.window_days, "Window of the series, in days")->capture_default_str()->check(InRange(1, 3650));
  loop->add_option("--chart", flags->loop.chart_path, "Write the homogenization-over-time chart (PNG) here");
  loop->add_option("--markdown", flags->loop_markdown, "Write the Markdown fragment for docs/paper.md here");
  loop->add_option("--data", flags->loop.data_dir, "Data directory");
  loop->add_flag("--json", flags->json, "Print one JSON object (otherwise the Markdown fragment)");
  loop->callback([flags] {
    FeedbackLoopOptions o = flags->loop;
    o.seeds = ParseSeeds(flags->loop_seeds);
    o.variants = SplitComma(flags->loop_variants);
    if (auto v = ParseFeedbackVariants(o.variants); !v.ok()) Fail(v.status().WithContext("--variants"));
    if (o.window_days > o.days) Fail(InvalidArgument("--window-days must be at most --days"));
    o.command_line = "steward bench feedback-loop --seeds " + JoinSeeds(o.seeds) + " --users " + std::to_string(o.users) + " --days " +
                     std::to_string(o.days) + " --window-days " + std::to_string(o.window_days) +
                     (o.variants != FeedbackVariantNames()
                          ? " --variants " + flags->loop_variants
                          : "") +
                     (o.chart_path.empty() ? "" : " --chart " + o.chart_path);  // output-only flags (--markdown, --json) left out
    o.cancel = &Interrupted();
    auto r = RunFeedbackLoop(o);
    if (!r.ok()) Fail(r.status());
    const std::string markdown = FeedbackLoopMarkdown(*r);
    if (!flags->loop_markdown.empty()) WriteMarkdown(flags->loop_markdown, markdown);
    if (flags->json) {
      PrintJsonLine(FeedbackLoopJson(*r));
    } else {
      std::printf("%s", markdown.c_str());
    }
  });

  auto* cold = bench->add_subcommand(
      "cold-start",
      "Cold start in the simulator at a visible traffic level: new-user interactions to quality and new-item days to signal, "
      "baseline vs hybrid, per seed");
  cold->add_option("--seeds", flags->cold_seeds, "Comma-separated world and model seeds")->capture_default_str();
  cold->add_option("--users", flags->cold.users, "Users at the start of each simulated world")->capture_default_str()->check(InRange(1, 1e6));
  cold->add_option("--days", flags->cold.days, "Simulated days per run")->capture_default_str()->check(InRange(1, 3650));
  cold->add_option("--rate", flags->cold.rate, "Requests per user per day")->capture_default_str()->check(InRange(0.01, 1000));
  cold->add_option("--catalog-items", flags->cold.catalog_items, "Keep every n-th book so this many remain (0: all 10,000)")
      ->capture_default_str()
      ->check(InRange(0, 10000));
  cold->add_option("--new-item-share", flags->cold.new_item_share, "Share of the catalog released during the run")
      ->capture_default_str()
      ->check(InRange(0, 0.5));
  cold->add_option("--quality-horizon", flags->cold.quality_horizon, "New users' requests measured (censoring point)")
      ->capture_default_str()
      ->check(InRange(3, 10000));
  cold->add_option("--markdown", flags->cold_markdown, "Write the Markdown fragment for docs/paper.md here");
  cold->add_option("--data", flags->cold.data_dir, "Data directory");
  cold->add_flag("--json", flags->json, "Print one JSON object (otherwise the Markdown fragment)");
  cold->callback([flags] {
    ColdStartOptions o = flags->cold;
    o.seeds = ParseSeeds(flags->cold_seeds);
    o.command_line = "steward bench cold-start --seeds " + JoinSeeds(o.seeds) + " --users " + std::to_string(o.users) + " --days " +
                     std::to_string(o.days) + " --rate " + Number(o.rate) + " --catalog-items " + std::to_string(o.catalog_items) +
                     " --new-item-share " + Number(o.new_item_share) + " --quality-horizon " + std::to_string(o.quality_horizon);
    // (output-only flags, --markdown and --json, are left out of the recorded command)
    o.cancel = &Interrupted();
    auto r = RunColdStart(o);
    if (!r.ok()) Fail(r.status());
    const std::string markdown = ColdStartMarkdown(*r);
    if (!flags->cold_markdown.empty()) WriteMarkdown(flags->cold_markdown, markdown);
    if (flags->json) {
      PrintJsonLine(ColdStartJson(*r));
    } else {
      std::printf("%s", markdown.c_str());
    }
  });

  auto* hybrid = bench->add_subcommand(
      "hybrid", "The hybrid against the production baseline in the default simulated world (paper 4.2): CTR, diversity index, "
                "sequential similarity, coverage and Gini, per seed");
  hybrid->add_option("--seeds", flags->hybrid_seeds, "Comma-separated world and model seeds")->capture_default_str();
  hybrid->add_option("--users", flags->hybrid.users, "Users at the start of each simulated world")->capture_default_str()->check(InRange(1, 1e6));
  hybrid->add_option("--days", flags->hybrid.days, "Simulated days per run")->capture_default_str()->check(InRange(1, 3650));
  hybrid->add_option("--markdown", flags->hybrid_markdown, "Write the Markdown fragment for docs/paper.md here");
  hybrid->add_option("--data", flags->hybrid.data_dir, "Data directory");
  hybrid->add_flag("--json", flags->json, "Print one JSON object (otherwise the Markdown fragment)");
  hybrid->callback([flags] {
    HybridBenchOptions o = flags->hybrid;
    o.seeds = ParseSeeds(flags->hybrid_seeds);
    o.command_line = "steward bench hybrid --seeds " + JoinSeeds(o.seeds) + " --users " + std::to_string(o.users) + " --days " +
                     std::to_string(o.days);
    o.cancel = &Interrupted();
    auto r = RunHybridBench(o);
    if (!r.ok()) Fail(r.status());
    const std::string markdown = HybridBenchMarkdown(*r);
    if (!flags->hybrid_markdown.empty()) WriteMarkdown(flags->hybrid_markdown, markdown);
    if (flags->json) {
      PrintJsonLine(HybridBenchJson(*r));
    } else {
      std::printf("%s", markdown.c_str());
    }
  });
}

}  // namespace steward::app
