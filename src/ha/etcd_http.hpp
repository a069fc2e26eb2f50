// One HTTP/1.1 POST to one etcd member with a hard deadline: resolving, connecting, sending and
// reading the answer all end by it. A fresh connection per call keeps a half-dead connection from
// outliving a member that was stopped or cut off.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "ha/etcd_endpoint.hpp"

namespace boost::asio::ssl {
class context;
}

namespace exchanged::ha {

struct HttpAnswer {
    bool answered = false;  // false: `failure` says what went wrong before an answer came
    unsigned status = 0;
    std::string body;
    std::string failure;
    // The TLS handshake failed (the member's certificate not trusted or not naming the host, no
    // client certificate where one is required, no TLS spoken there): a setting to fix, not an
    // outage to wait out.
    bool tls_refused = false;
};

// The answer body is bounded: a larger one is a failure, not a larger buffer.
inline constexpr std::size_t kMaxEtcdAnswerBytes = 4 * 1024 * 1024;

// `require_leader` sends `Grpc-Metadata-hasleader: true`, which the gateway passes on as gRPC
// metadata: a member without a leader then refuses at once (503, "no leader") instead of waiting
// for its request timeout or answering from its own state. A non-empty `token` (etcd_auth.hpp)
// goes in the `Authorization` header, which the gateway passes on as etcd's auth metadata. An
// https:// endpoint is spoken to over TLS made from `tls` (etcd_tls.hpp), which it needs.
HttpAnswer etcd_post(const EtcdEndpoint& endpoint, std::string_view target, std::string body,
                     std::chrono::steady_clock::time_point deadline, bool require_leader,
                     std::string_view token = {}, boost::asio::ssl::context* tls = nullptr);

}  // namespace exchanged::ha
