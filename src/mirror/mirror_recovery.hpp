// Reading the mirror back at start-up and for --recover (docs/recovery.md): the stream's entries
// above the store's LSN, each the bytes of a WAL record, handed to the replay as the WAL tail
// would be (engine::recover_from_store over a RecordSource).
#pragma once

#include <cstdint>
#include <string>

#include "engine/recovery.hpp"
#include "mirror/redis_client.hpp"

namespace exchanged::mirror {

// Pages through XRANGE from after_lsn + 1 to the end. Throws engine::RecordSourceError naming
// the entry when one is not a whole record with its own LSN, or Redis stops answering. `client`
// must outlive the source.
engine::RecordSource mirror_source(RedisClient& client, std::string stream_key,
                                   std::uint32_t page_entries = 1000);

}  // namespace exchanged::mirror
