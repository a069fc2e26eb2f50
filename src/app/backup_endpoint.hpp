// POST /backup on the admin endpoint (docs/operations.md "Backups"): the running daemon holds its
// SQLite store in exclusive locking mode, so only the daemon can copy it while it serves. The
// request goes to the flush worker, which copies the store between two batches into
// <data_dir>/backup-staging/; `exchangectl backup create` then takes the file from there.
//
// Answers (JSON): 200 {"path", "store_lsn", "bytes"}; 409 while another snapshot runs; 503 when
// the daemon is stopping; 500 when the copy failed, with the error.
#pragma once

#include <filesystem>

#include "ops/admin_server.hpp"
#include "store/flush_worker.hpp"

namespace exchanged::app {

// `flush` must outlive every request the handler accepted (stop the pipeline before destroying
// the admin server: the worker answers what is pending when it stops).
ops::PostHandler backup_endpoint(store::FlushWorker& flush, std::filesystem::path staging_dir);

}  // namespace exchanged::app
