#include "app/backup_endpoint.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/json_text.hpp"

namespace exchanged::app {

namespace {

std::string error_body(const std::string& error) {
    return "{\"error\": " + json_string(error) + "}\n";
}

// A name no earlier snapshot of this or another run used: the staging directory may still hold
// a file whose copy a crashed `backup create` never finished.
std::filesystem::path staging_file(const std::filesystem::path& staging_dir) {
    static std::atomic<std::uint64_t> counter{0};
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
    return staging_dir / ("store-" + std::to_string(ms) + "-" + std::to_string(::getpid()) + "-" +
                          std::to_string(counter.fetch_add(1)) + ".sqlite");
}

}  // namespace

ops::PostHandler backup_endpoint(store::FlushWorker& flush, std::filesystem::path staging_dir) {
    return [&flush, staging_dir = std::move(staging_dir)](ops::AdminReply reply) {
        std::error_code error;
        std::filesystem::create_directories(staging_dir, error);
        if (error) {
            reply(500,
                  error_body("cannot create " + staging_dir.string() + ": " + error.message()));
            return;
        }
        const std::filesystem::path target = staging_file(staging_dir);
        auto done = [reply](const store::SnapshotResult& result) {
            if (!result.ok) {
                std::error_code ignored;
                std::filesystem::remove(result.path, ignored);  // what a failed copy left
                spdlog::error("backup: store snapshot failed: {}", result.error);
                reply(500, error_body(result.error));
                return;
            }
            std::error_code size_error;
            const auto bytes = std::filesystem::file_size(result.path, size_error);
            spdlog::info("backup: store snapshot at LSN {} in {} ({} bytes)", result.store_lsn,
                         result.path.string(), size_error ? 0 : bytes);
            reply(200, "{\"path\": " + json_string(result.path.string()) +
                           ", \"store_lsn\": " + std::to_string(result.store_lsn) +
                           ", \"bytes\": " + std::to_string(size_error ? 0 : bytes) + "}\n");
        };
        switch (flush.request_snapshot(target, std::move(done))) {
            case store::SnapshotRequest::Accepted:
                return;
            case store::SnapshotRequest::Busy:
                reply(409, error_body("a store snapshot is already running; try again when it "
                                      "has finished"));
                return;
            case store::SnapshotRequest::Stopped:
                reply(503, error_body("the daemon is stopping"));
                return;
        }
    };
}

}  // namespace exchanged::app
