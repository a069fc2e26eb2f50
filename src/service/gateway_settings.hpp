// The gateway's plain options from the profile: net knows nothing of exchanged::Config, so the
// service layer, which sees both, fills them.
#pragma once

#include <span>

#include "config/config.hpp"
#include "net/gateway.hpp"

namespace exchanged::service {

// [server] listen, max_sessions, heartbeat_interval_ms, max_frame_bytes and [accounts].
net::GatewayOptions gateway_options(const exchanged::ServerConfig& server,
                                    std::span<const exchanged::AccountConfig> accounts);

}  // namespace exchanged::service
