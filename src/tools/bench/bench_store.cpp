// `exchangectl bench store`: the primary store's batch throughput and commit latency, on either
// backend. The mix workload (match_workloads.hpp) drives a matcher; its events, one LSN per
// command, go to the store in batches of about --batch-events events (a command's events are never
// split, as the flush worker does), each batch one apply(): one transaction and its commit, timed
// on its own. Producing the events is not timed. SQLite writes a scratch file (--path, or one in a
// temporary directory) and PostgreSQL a scratch schema of the --dsn database (the DSN's own
// `options` are replaced to point search_path at it); both are removed afterwards.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "book/matcher.hpp"
#include "common/cli_args.hpp"
#include "store/postgres_connection.hpp"
#include "store/postgres_dsn.hpp"
#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/workloads/match_workloads.hpp"

namespace exchanged::tools {
namespace {

using Clock = std::chrono::steady_clock;

struct Stream {
    std::vector<store::StoreBatch> batches;
    std::uint64_t events = 0;
    std::uint64_t row_writes = 0;  // one per Accepted, Cancelled, Replaced; three per Trade
    std::uint32_t client_order_id_window = 0;
};

std::uint64_t row_writes_of(const book::Event& event) {
    switch (event.type) {
        case book::EventType::Accepted:
        case book::EventType::Cancelled:
        case book::EventType::Replaced:
            return 1;
        case book::EventType::Trade:
            return 3;  // maker, taker, trade
        case book::EventType::Rejected:
        case book::EventType::MassCancelled:
            return 0;
    }
    return 0;
}

// At least `events` events (every command emits one or more), cut into batches at command ends.
Stream make_stream(std::uint64_t events, std::uint64_t batch_events, std::uint64_t seed) {
    const Workload workload = make_mix_workload(events, seed);
    book::Matcher matcher(workload.instruments, workload.limits);
    Stream stream;
    stream.client_order_id_window = workload.limits.client_order_id_window;
    std::vector<book::Event> emitted;
    store::StoreBatch batch;
    for (std::size_t i = 0; i < workload.commands.size() && stream.events < events; ++i) {
        const book::Command& command = workload.commands[i];
        emitted.clear();
        matcher.apply(command, emitted);
        const store::StoreLsn lsn = i + 1;
        if (batch.first_lsn == 0) {
            batch.first_lsn = lsn;
        }
        batch.last_lsn = lsn;
        for (const book::Event& event : emitted) {
            batch.events.push_back(store::StoreEvent{lsn, 0, command.flags, event});
            stream.row_writes += row_writes_of(event);
        }
        stream.events += emitted.size();
        if (batch.events.size() >= batch_events) {
            stream.batches.push_back(std::move(batch));
            batch = store::StoreBatch{};
        }
    }
    if (batch.first_lsn != 0) {
        stream.batches.push_back(std::move(batch));
    }
    return stream;
}

// Where the bench writes, created before and removed after the run.
class Scratch {
  public:
    virtual ~Scratch() = default;
    virtual std::unique_ptr<store::Store> open(bool audit_log) = 0;
    virtual std::string where() const = 0;
    // The server process that serves `store`, if any.
    virtual int server_pid(store::Store&) const { return 0; }
};

class SqliteScratch final : public Scratch {
  public:
    explicit SqliteScratch(const std::optional<std::string>& path) {
        if (path) {
            if (std::filesystem::exists(*path)) {
                throw CliError("--path: '" + *path + "' already exists; remove it or pick another");
            }
            path_ = *path;
        } else {
            std::string pattern =
                (std::filesystem::temp_directory_path() / "exchanged-bench-store-XXXXXX").string();
            if (::mkdtemp(pattern.data()) == nullptr) {
                throw store::StoreError("mkdtemp " + pattern + " failed");
            }
            dir_ = pattern;
            path_ = dir_ + "/store.sqlite";
        }
    }
    ~SqliteScratch() override {
        std::error_code ignored;
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::filesystem::remove(path_ + suffix, ignored);
        }
        if (!dir_.empty()) {
            std::filesystem::remove_all(dir_, ignored);
        }
    }
    std::unique_ptr<store::Store> open(bool audit_log) override {
        return std::make_unique<store::SqliteStore>(path_,
                                                    store::SqliteStoreOptions{audit_log, {}});
    }
    std::string where() const override { return "sqlite:" + path_; }

  private:
    std::string dir_;
    std::string path_;
};

class PostgresScratch final : public Scratch {
  public:
    explicit PostgresScratch(const std::string& dsn)
        : admin_(dsn, "postgresql:" + store::redact_dsn(dsn)),
          schema_("exchanged_bench_" + std::to_string(::getpid())),
          dsn_(store::dsn_with_option(dsn, "options", "-csearch_path=" + schema_)) {
        admin_.exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE", "drop scratch schema");
        admin_.exec("CREATE SCHEMA " + schema_, "create scratch schema");
    }
    ~PostgresScratch() override {
        try {
            admin_.ensure_connected();
            admin_.exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE", "drop scratch schema");
        } catch (const store::StoreError& error) {
            std::fprintf(stderr, "bench store: %s\n", error.what());
        }
    }
    std::unique_ptr<store::Store> open(bool audit_log) override {
        return std::make_unique<store::PostgresStore>(dsn_, store::PostgresStoreOptions{audit_log});
    }
    int server_pid(store::Store& store) const override {
        return static_cast<store::PostgresStore&>(store).backend_pid();
    }
    std::string where() const override {
        return "postgresql:" + store::redact_dsn(dsn_) + " (scratch schema " + schema_ + ")";
    }

  private:
    store::PgConnection admin_;
    std::string schema_;
    std::string dsn_;
};

// The CPU time of this thread: what the batches cost the writer itself, apart from waiting for
// the disk or the server, and less disturbed than wall time on a loaded machine.
double thread_cpu_seconds() {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

// The CPU time, user and system, of a process on this machine (a PostgreSQL server's backend
// when the server runs here too); nullopt when /proc does not show it.
std::optional<double> process_cpu_seconds(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (pid <= 0 || !std::getline(in, stat)) {
        return std::nullopt;
    }
    // After the command name in parentheses: state is field 3, utime and stime fields 14 and 15.
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    for (int n = 3; n <= 15 && fields >> field; ++n) {
        if (n == 14) {
            utime = std::stoull(field);
        } else if (n == 15) {
            stime = std::stoull(field);
        }
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double percentile_ms(const std::vector<double>& sorted_ms, double q) {
    if (sorted_ms.empty()) {
        return 0;
    }
    return sorted_ms[static_cast<std::size_t>(q * static_cast<double>(sorted_ms.size() - 1))];
}

}  // namespace

int bench_store_main(int argc, char** argv, int first) {
    static constexpr CliOption kOptions[] = {
        {"backend", true}, {"dsn", true},          {"path", true},       {"events", true},
        {"seed", true},    {"batch-events", true}, {"audit-log", false}, {"json", false}};
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    if (!args.positional().empty()) {
        throw CliError("unexpected argument '" + args.positional()[0] + "'");
    }
    const std::string backend = args.text_or("backend", "sqlite");
    const std::uint64_t events = args.unsigned_or("events", 200'000, 1, 100'000'000);
    const std::uint64_t batch_events = args.unsigned_or("batch-events", 1000, 1, 10'000'000);
    const std::uint64_t seed = args.unsigned_or("seed", 1);
    const bool audit_log = args.has("audit-log");
    const bool json = args.has("json");

    std::unique_ptr<Scratch> scratch;
    if (backend == "sqlite") {
        if (args.has("dsn")) {
            throw CliError("--dsn is for --backend postgresql");
        }
        scratch = std::make_unique<SqliteScratch>(args.text("path"));
    } else if (backend == "postgresql") {
        if (args.has("path")) {
            throw CliError("--path is for --backend sqlite");
        }
        const auto dsn = args.text("dsn");
        if (!dsn) {
            throw CliError("--backend postgresql needs --dsn \"host=... dbname=... user=...\"");
        }
        scratch = std::make_unique<PostgresScratch>(*dsn);
    } else {
        throw CliError("--backend: '" + backend + "' is neither sqlite nor postgresql");
    }

    const Stream stream = make_stream(events, batch_events, seed);
    std::unique_ptr<store::Store> store = scratch->open(audit_log);
    store->migrate();

    std::vector<double> latencies_ms;
    latencies_ms.reserve(stream.batches.size());
    const int server_pid = scratch->server_pid(*store);
    const std::optional<double> server_cpu_start = process_cpu_seconds(server_pid);
    const double cpu_start = thread_cpu_seconds();
    const Clock::time_point start = Clock::now();
    for (const store::StoreBatch& batch : stream.batches) {
        const Clock::time_point before = Clock::now();
        store->apply(batch);
        latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - before).count());
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const double cpu_seconds = thread_cpu_seconds() - cpu_start;
    const std::optional<double> server_cpu_end = process_cpu_seconds(server_pid);
    const Clock::time_point load_start = Clock::now();
    const store::StoreState state = store->load(1, stream.client_order_id_window);
    const double load_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - load_start).count();

    std::sort(latencies_ms.begin(), latencies_ms.end());
    const double cpu_ms_per_batch = cpu_seconds * 1000 / static_cast<double>(stream.batches.size());
    // Clock ticks (10 ms): meaningful over a run of a second or more.
    std::string server_cpu = "null";
    if (server_cpu_start && server_cpu_end) {
        server_cpu = std::to_string((*server_cpu_end - *server_cpu_start) * 1000 /
                                    static_cast<double>(stream.batches.size()));
    }
    const double events_per_sec = static_cast<double>(stream.events) / seconds;
    const double rows_per_sec = static_cast<double>(stream.row_writes) / seconds;
    const double batches_per_sec = static_cast<double>(stream.batches.size()) / seconds;
    const double p50 = percentile_ms(latencies_ms, 0.50);
    const double p99 = percentile_ms(latencies_ms, 0.99);
    const double max = percentile_ms(latencies_ms, 1.0);
    const std::size_t resting = state.shards[0].snapshot.resting.size();
    if (json) {
        std::printf(
            "{\"backend\": \"%s\", \"events\": %llu, \"batches\": %zu, \"batch_events\": %llu, "
            "\"audit_log\": %s, \"seed\": %llu, \"seconds\": %.3f, \"events_per_sec\": %.0f, "
            "\"row_writes_per_sec\": %.0f, \"batches_per_sec\": %.1f, \"batch_p50_ms\": %.2f, "
            "\"batch_p99_ms\": %.2f, \"batch_max_ms\": %.2f, \"writer_cpu_ms_per_batch\": %.3f, "
            "\"server_cpu_ms_per_batch\": %s, \"load_ms\": %.1f, "
            "\"resting_orders\": %zu}\n",
            backend.c_str(), static_cast<unsigned long long>(stream.events), stream.batches.size(),
            static_cast<unsigned long long>(batch_events), audit_log ? "true" : "false",
            static_cast<unsigned long long>(seed), seconds, events_per_sec, rows_per_sec,
            batches_per_sec, p50, p99, max, cpu_ms_per_batch, server_cpu.c_str(), load_ms, resting);
        return 0;
    }
    std::printf("bench store: %s\n", scratch->where().c_str());
    std::printf(
        "  %llu events (mix workload, seed %llu) in %zu batches of about %llu events, audit log "
        "%s\n",
        static_cast<unsigned long long>(stream.events), static_cast<unsigned long long>(seed),
        stream.batches.size(), static_cast<unsigned long long>(batch_events),
        audit_log ? "on" : "off");
    std::printf("  %.0f events/s, %.0f row writes/s, %.1f batches/s (%.2f s)\n", events_per_sec,
                rows_per_sec, batches_per_sec, seconds);
    std::printf("  batch apply + commit: p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", p50, p99, max);
    std::printf("  the writer's own CPU: %.3f ms per batch", cpu_ms_per_batch);
    if (server_cpu != "null") {
        std::printf(", its server process's: %s ms", server_cpu.c_str());
    }
    std::printf("\n");
    std::printf("  load of the final state (%zu resting orders): %.1f ms\n", resting, load_ms);
    return 0;
}

}  // namespace exchanged::tools
