// The backend-independent half of Store::apply(): checks a batch against store_lsn and says which
// of its events are new. Every backend applies exactly the events this plan names.
#pragma once

#include <cstddef>

#include "store/store.hpp"

namespace exchanged::store {

struct BatchPlan {
    bool skip = false;      // wholly at or below store_lsn: nothing to do
    std::size_t first = 0;  // index of the first event above store_lsn
};

// Throws StoreError when the batch is malformed (empty or inverted range, an event outside it or
// with LSN 0, LSNs going backwards) or starts after store_lsn + 1.
BatchPlan plan_batch(const StoreBatch& batch, StoreLsn store_lsn);

}  // namespace exchanged::store
