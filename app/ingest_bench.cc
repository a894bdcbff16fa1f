#include "app/ingest_bench.h"

#include <unistd.h>

#include <filesystem>

#include "common/clock.h"
#include "common/progress.h"
#include "common/rng.h"
#include "storage/event_writer.h"
#include "storage/queries.h"

namespace steward::app {

StatusOr<IngestBenchResult> RunIngestBench(const IngestBenchOptions& options) {
  if (options.events <= 0) return InvalidArgument("--events must be positive");
  if (options.producer_batch <= 0) return InvalidArgument("--batch must be positive");
  std::string path = options.db_path;
  const bool temporary = path.empty();
  if (temporary) {
    path = (std::filesystem::temp_directory_path() / ("steward-ingest-" + std::to_string(getpid()) + ".db")).string();
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);

  storage::EventWriterOptions writer_options;
  writer_options.sync = options.sync;
  ASSIGN_OR_RETURN(auto writer, storage::EventWriter::Start(path, writer_options));

  // Events are generated before timing starts so the figure is the ingest path alone.
  Rng rng(options.seed);
  std::vector<storage::Feedback> events(static_cast<size_t>(options.events));
  int64_t ts = 1767225600000;
  for (int64_t i = 0; i < options.events; ++i) {
    ts += static_cast<int64_t>(rng.UniformInt(50));
    events[static_cast<size_t>(i)] = storage::Feedback{i + 1,
                                                       ts,
                                                       static_cast<int64_t>(rng.UniformInt(100000)) + 1,
                                                       static_cast<int64_t>(rng.UniformInt(10000)) + 1,
                                                       static_cast<int32_t>(rng.UniformInt(10)) + 1,
                                                       storage::FeedbackKind::kClick,
                                                       1.0};
  }

  const Clock& clock = SystemClock::Default();
  Progress progress("ingest", static_cast<uint64_t>(options.events), "events", clock);
  progress.set_enabled(options.progress);
  const int64_t start = clock.MonotonicNanos();
  std::vector<storage::Event> batch;
  for (int64_t i = 0; i < options.events;) {
    const int64_t end = std::min(options.events, i + options.producer_batch);
    batch.clear();
    batch.reserve(static_cast<size_t>(end - i));
    for (int64_t j = i; j < end; ++j) batch.emplace_back(events[static_cast<size_t>(j)]);
    RETURN_IF_ERROR(writer->SubmitBatch(std::move(batch)).status());
    batch = {};
    i = end;
    progress.Update(writer->committed());
  }
  RETURN_IF_ERROR(writer->Flush());
  const int64_t stop = clock.MonotonicNanos();
  progress.Finish();
  const storage::EventWriterStats stats = writer->stats();
  RETURN_IF_ERROR(writer->Close());

  IngestBenchResult result;
  result.events = options.events;
  result.seconds = static_cast<double>(stop - start) / 1e9;
  result.events_per_sec = static_cast<double>(options.events) / result.seconds;
  result.batches = stats.batches;
  result.producer_waits = stats.producer_waits;
  {
    ASSIGN_OR_RETURN(auto db, storage::Database::Open(path));
    ASSIGN_OR_RETURN(storage::Totals totals, storage::QueryTotals(*db));
    result.rows_in_db = totals.feedback;
  }
  if (result.rows_in_db != options.events) {
    return DataLoss("ingest benchmark: " + std::to_string(options.events) + " events submitted but " +
                    std::to_string(result.rows_in_db) + " rows in the database");
  }
  if (temporary) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  }
  return result;
}

}  // namespace steward::app
