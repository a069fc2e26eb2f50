#include "ha/etcd_client.hpp"

#include <stdexcept>

#include "ha/etcd_http.hpp"
#include "ha/etcd_json.hpp"

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
    : endpoints_(std::move(endpoints)), options_(options) {
    if (endpoints_.empty()) {
        throw std::invalid_argument("etcd client: no endpoints");
    }
}

template <typename Parse>
auto EtcdClient::call(const char* target, const std::string& body, Parse parse)
    -> decltype(parse(std::string_view{})) {
    using Clock = std::chrono::steady_clock;
    const Clock::time_point deadline = Clock::now() + options_.call_deadline;
    std::string failures;
    const std::size_t n = endpoints_.size();
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
        HttpAnswer answer =
            etcd_post(endpoint, target, body, attempt_deadline, options_.require_leader);
        if (!answer.answered) {
            note(answer.failure);
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
            throw EtcdError(std::string("etcd ") + target + " at " + endpoint.url + ": " + what,
                            false, error->grpc_code);
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
    throw EtcdError(std::string("etcd ") + target + " failed on every endpoint within " +
                        std::to_string(options_.call_deadline.count()) + " ms: " + failures,
                    true);
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
