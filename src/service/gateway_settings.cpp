#include "service/gateway_settings.hpp"

namespace exchanged::service {

net::GatewayOptions gateway_options(const exchanged::ServerConfig& server,
                                    std::span<const exchanged::AccountConfig> accounts) {
    net::GatewayOptions options;
    options.listen_host = server.listen.host;
    options.listen_port = server.listen.port;
    options.max_sessions = server.max_sessions;
    options.heartbeat_interval_ms = server.heartbeat_interval_ms;
    options.max_frame_bytes = server.max_frame_bytes;
    for (const exchanged::AccountConfig& account : accounts) {
        options.accounts.push_back(net::GatewayAccount{account.name, account.id, account.secret});
    }
    return options;
}

}  // namespace exchanged::service
