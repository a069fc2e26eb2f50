#include "ha/etcd_client.hpp"

#include <stdexcept>

#include "common/test_fault.hpp"
#include "ha/etcd_http.hpp"
#include "ha/etcd_json.hpp"
#include "ha/etcd_tls.hpp"

namespace exchanged::ha {

namespace {

// gRPC codes that say "this member cannot answer now" rather than "no": another member may.
constexpr int kGrpcDeadlineExceeded = 4;
constexpr int kGrpcUnavailable = 14;

bool member_unavailable(const EtcdServerError& error, unsigned status) {
    return error.grpc_code == kGrpcUnavailable || error.grpc_code == kGrpcDeadlineExceeded ||
           status >= 500;
}

}  // namespace

EtcdClient::EtcdClient(std::vector<EtcdEndpoint> endpoints, EtcdClientOptions options)
    : endpoints_(std::move(endpoints)), options_(std::move(options)) {
    if (endpoints_.empty()) {
        throw std::invalid_argument("etcd client: no endpoints");
    }
    if (options_.credentials && options_.credentials->user.empty()) {
        throw std::invalid_argument("etcd client: credentials without a user name");
    }
    if (endpoints_.front().tls && !options_.tls) {
        options_.tls = make_etcd_tls_context({});
    }
    tokens_.resize(endpoints_.size());
}

HttpAnswer EtcdClient::send(std::size_t index, std::string_view target, std::string body,
                            std::chrono::steady_clock::time_point deadline,
                            std::string_view token) {
    HttpAnswer answer = etcd_post(endpoints_[index], target, std::move(body), deadline,
                                  options_.require_leader, token, options_.tls.get());
    tls_refused_ = tls_refused_ || answer.tls_refused;
    return answer;
}

template <typename Note>
bool EtcdClient::authenticate_at(std::size_t index, std::chrono::steady_clock::time_point deadline,
                                 Note note) {
    const EtcdEndpoint& endpoint = endpoints_[index];
    const std::string& user = options_.credentials->user;
    tokens_[index].clear();
    const HttpAnswer answer =
        send(index, "/v3/auth/authenticate", authenticate_request(*options_.credentials), deadline);
    const std::string as = "authenticating as etcd user '" + user + "': ";
    if (!answer.answered) {
        note(as + answer.failure);
        return false;
    }
    if (const std::optional<EtcdServerError> error = parse_server_error(answer.body)) {
        const std::string what = "etcd refused (HTTP " + std::to_string(answer.status) +
                                 ", gRPC code " + std::to_string(error->grpc_code) +
                                 "): " + error->message;
        if (member_unavailable(*error, answer.status)) {
            note(as + what);
            return false;
        }
        if (auth_not_enabled(*error)) {
            return true;  // no token wanted: the request goes without one
        }
        throw EtcdError("etcd at " + endpoint.url + " refused user '" + user + "' (" + what + ")",
                        false, error->grpc_code);
    }
    if (answer.status != 200) {
        note(as + "HTTP " + std::to_string(answer.status));
        return false;
    }
    try {
        tokens_[index] = parse_authenticate(answer.body);
    } catch (const EtcdJsonError& error) {
        note(as + error.what());
        return false;
    }
    ++authentications_;
    return true;
}

template <typename Note>
HttpAnswer EtcdClient::post(std::size_t index, const char* target, const std::string& body,
                            std::chrono::steady_clock::time_point deadline, Note note) {
    if (!options_.credentials) {
        return send(index, target, body, deadline);
    }
    HttpAnswer failed;
    bool fresh = false;
    if (tokens_[index].empty()) {
        if (!authenticate_at(index, deadline, note)) {
            return failed;
        }
        fresh = true;
    }
    HttpAnswer answer = send(index, target, body, deadline, tokens_[index]);
    if (fresh || !answer.answered) {
        return answer;
    }
    const std::optional<EtcdServerError> error = parse_server_error(answer.body);
    if (!error || !token_rejected(*error) ||
        test_fault::armed(test_fault::Fault::EtcdTokenNotRenewed)) {
        return answer;
    }
    // Refused, so not applied: sending it again cannot apply it twice.
    if (!authenticate_at(index, deadline, note)) {
        return failed;
    }
    return send(index, target, body, deadline, tokens_[index]);
}

template <typename Parse>
auto EtcdClient::call(const char* target, const std::string& body, Parse parse)
    -> decltype(parse(std::string_view{})) {
    using Clock = std::chrono::steady_clock;
    const Clock::time_point deadline = Clock::now() + options_.call_deadline;
    std::string failures;
    const std::size_t n = endpoints_.size();
    std::size_t tls_refusals = 0;
    for (std::size_t attempt = 0; attempt < n; ++attempt) {
        const std::size_t index = (preferred_ + attempt) % n;
        const EtcdEndpoint& endpoint = endpoints_[index];
        const auto note = [&](const std::string& what) {
            failures += (failures.empty() ? "" : "; ") + endpoint.url + ": " + what;
        };
        const Clock::time_point now = Clock::now();
        if (now >= deadline) {
            note("not tried, the call's deadline had passed");
            continue;
        }
        const Clock::time_point attempt_deadline = now + (deadline - now) / (n - attempt);
        tls_refused_ = false;
        HttpAnswer answer = post(index, target, body, attempt_deadline, note);
        tls_refusals += tls_refused_ ? 1 : 0;
        if (!answer.answered) {
            if (!answer.failure.empty()) {
                note(answer.failure);
            }
            continue;
        }
        if (const std::optional<EtcdServerError> error = parse_server_error(answer.body)) {
            const std::string what = "etcd refused (HTTP " + std::to_string(answer.status) +
                                     ", gRPC code " + std::to_string(error->grpc_code) +
                                     "): " + error->message;
            if (member_unavailable(*error, answer.status)) {
                note(what);
                continue;
            }
            if (token_rejected(*error) &&
                !test_fault::armed(test_fault::Fault::EtcdTokenNotRenewed)) {
                tokens_[index].clear();  // the next call starts with a new one
            }
            std::string hint;
            if (options_.credentials) {
                hint = " (as etcd user '" + options_.credentials->user + "')";
            } else if (user_missing(*error)) {
                hint = " (etcd has authentication enabled and no etcd user is configured)";
            }
            throw EtcdError(
                std::string("etcd ") + target + " at " + endpoint.url + ": " + what + hint, false,
                error->grpc_code);
        }
        if (answer.status != 200) {
            note("HTTP " + std::to_string(answer.status) + ": " + answer.body.substr(0, 200));
            continue;
        }
        try {
            auto result = parse(answer.body);
            preferred_ = index;
            return result;
        } catch (const EtcdJsonError& error) {
            note(std::string("bad answer: ") + error.what());
        }
    }
    // Every member refusing the handshake is a setting to fix (a CA, a certificate, a scheme),
    // not an outage to wait out: final, so a start and --check-config stop on it.
    const bool tls_refused_everywhere = tls_refusals == n;
    throw EtcdError(std::string("etcd ") + target + " failed on every endpoint within " +
                        std::to_string(options_.call_deadline.count()) + " ms" +
                        (tls_refused_everywhere ? " (each refused the TLS handshake)" : "") + ": " +
                        failures,
                    !tls_refused_everywhere);
}

RangeResult EtcdClient::range(std::string_view key) {
    return call("/v3/kv/range", range_request(key), parse_range);
}

TxnResult EtcdClient::txn(const Txn& txn) {
    return call("/v3/kv/txn", txn_request(txn), parse_txn);
}

std::int64_t EtcdClient::delete_range(std::string_view key) {
    return call("/v3/kv/deleterange", delete_range_request(key), parse_delete_range);
}

LeaseGrant EtcdClient::lease_grant(std::int64_t ttl_seconds) {
    return call("/v3/lease/grant", lease_grant_request(ttl_seconds), parse_lease_grant);
}

std::int64_t EtcdClient::lease_keepalive(std::int64_t lease_id) {
    return call("/v3/lease/keepalive", lease_keepalive_request(lease_id), parse_lease_keepalive);
}

void EtcdClient::lease_revoke(std::int64_t lease_id) {
    call("/v3/lease/revoke", lease_revoke_request(lease_id), [](std::string_view body) {
        parse_lease_revoke(body);
        return 0;
    });
}

}  // namespace exchanged::ha
