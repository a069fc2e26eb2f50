#include "store/open_store.hpp"

#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"

namespace exchanged::store {

std::unique_ptr<Store> open_store(const StoreSettings& settings) {
    switch (settings.backend) {
        case Backend::Sqlite: {
            SqliteStoreOptions options;
            options.audit_log = settings.audit_log;
            auto store = std::make_unique<SqliteStore>(settings.sqlite_path, options);
            store->migrate();
            return store;
        }
        case Backend::Postgresql: {
            PostgresStoreOptions options;
            options.audit_log = settings.audit_log;
            auto store = std::make_unique<PostgresStore>(settings.postgresql_dsn, options);
            store->migrate();
            return store;
        }
    }
    throw StoreError("unknown store backend");
}

}  // namespace exchanged::store
