// etcd's v3 API over its JSON gateway (HTTP/1.1 POST /v3/...), synchronous, each call bounded by a
// deadline. The endpoints are tried in turn, starting with the one that answered last, until one
// answers: a member that is down, slow, without a leader or answering garbage costs one share of
// the deadline, not the call. An answer etcd gives with an error code that is not about
// availability (lease not found, invalid argument) is final and thrown at once.
//
// With credentials, each member gets its own token (etcd's simple tokens are known only to the
// member that issued them): the first call to a member authenticates there, and a token the
// member rejects (expired, lost in a restart or an `auth disable`) is renewed once and the request
// sent once more, within the same attempt. A refused user or password is final.
//
// Over TLS for https:// endpoints. When every member refuses the TLS handshake the call fails
// finally (not as unavailable): a certificate or CA to fix, not an outage to wait out.
//
// One thread at a time: the tokens and the preferred endpoint are not guarded (only
// authentications() may be read from any thread).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ha/etcd_api.hpp"
#include "ha/etcd_auth.hpp"
#include "ha/etcd_endpoint.hpp"
#include "ha/etcd_http.hpp"

namespace exchanged::ha {

struct EtcdClientOptions {
    // The whole call, over all endpoints. Each attempt gets an equal share of what is left.
    std::chrono::milliseconds call_deadline{1000};
    // Send `Grpc-Metadata-hasleader: true` (see etcd_http.hpp). Only tests turn it off.
    bool require_leader = true;
    // etcd's user/password authentication; none: requests carry no token.
    std::optional<EtcdCredentials> credentials;
    // For https:// endpoints (etcd_tls.hpp); none: the system's CAs, no client certificate.
    std::shared_ptr<boost::asio::ssl::context> tls;
};

class EtcdClient final : public EtcdApi {
  public:
    // Throws std::invalid_argument for an empty list.
    EtcdClient(std::vector<EtcdEndpoint> endpoints, EtcdClientOptions options);

    RangeResult range(std::string_view key) override;
    TxnResult txn(const Txn& txn) override;
    std::int64_t delete_range(std::string_view key) override;
    LeaseGrant lease_grant(std::int64_t ttl_seconds) override;
    std::int64_t lease_keepalive(std::int64_t lease_id) override;
    void lease_revoke(std::int64_t lease_id) override;

    const std::vector<EtcdEndpoint>& endpoints() const { return endpoints_; }

    // How many tokens this client obtained (a first one per member, then each renewal).
    // Any thread may read it (the daemon's /metrics).
    std::uint64_t authentications() const { return authentications_.load(); }

  private:
    // Authenticates at endpoints_[index] into tokens_[index]. An answer that is not a token
    // (unreachable, no leader, bad JSON) is noted and false; "authentication is not enabled" is
    // true with no token (etcd ignores tokens then, and switching it off and on again passes
    // through that state); a refusal (wrong user or password) throws a final EtcdError naming
    // the user.
    template <typename Note>
    bool authenticate_at(std::size_t index, std::chrono::steady_clock::time_point deadline,
                         Note note);
    // etcd_post to endpoints_[index] with this client's TLS context; notes a refused handshake
    // in tls_refused_.
    HttpAnswer send(std::size_t index, std::string_view target, std::string body,
                    std::chrono::steady_clock::time_point deadline, std::string_view token = {});
    // One POST to endpoints_[index], authenticated when credentials are set: a token first if
    // the member has none yet, and on a rejected token a new one and the request once more.
    // `answer.answered` false: the failure was noted.
    template <typename Note>
    HttpAnswer post(std::size_t index, const char* target, const std::string& body,
                    std::chrono::steady_clock::time_point deadline, Note note);

    // POSTs `body` to `target` until an endpoint answers 200 with a body `parse` accepts, and
    // returns what `parse` made of it.
    template <typename Parse>
    auto call(const char* target, const std::string& body, Parse parse)
        -> decltype(parse(std::string_view{}));

    std::vector<EtcdEndpoint> endpoints_;
    EtcdClientOptions options_;
    std::size_t preferred_ = 0;
    std::vector<std::string> tokens_;  // by endpoint; empty: none yet
    bool tls_refused_ = false;         // in the current attempt
    std::atomic<std::uint64_t> authentications_{0};
};

}  // namespace exchanged::ha
