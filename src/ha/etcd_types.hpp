// What EtcdClient sends and receives, as plain values: the parts of etcd's v3 KV and lease API
// that the leader election uses. Revisions, versions and lease ids are etcd's int64s; a field etcd
// left out of its JSON answer (it omits zero values) reads as zero here.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace exchanged::ha {

// Every failure of an etcd call. `unavailable()` is true when no endpoint gave a definite answer
// (connection refused, no answer before the deadline, no leader, bad JSON): the caller cannot know
// whether a write was applied. It is false when etcd answered and refused (a lease not found, an
// invalid request): that answer is final and was not tried on the other endpoints.
class EtcdError : public std::runtime_error {
  public:
    EtcdError(const std::string& what, bool unavailable, int grpc_code = 0)
        : std::runtime_error(what), unavailable_(unavailable), grpc_code_(grpc_code) {}
    bool unavailable() const { return unavailable_; }
    int grpc_code() const { return grpc_code_; }  // etcd's refusal; 0 when unavailable

  private:
    bool unavailable_;
    int grpc_code_;
};

struct KeyValue {
    std::string key;
    std::string value;
    std::int64_t create_revision = 0;
    std::int64_t mod_revision = 0;
    std::int64_t version = 0;
    std::int64_t lease = 0;
};

struct RangeResult {
    std::int64_t revision = 0;  // the store's revision when etcd answered
    std::vector<KeyValue> kvs;
};

// One comparison of a transaction: `target(key) result operand`.
struct Compare {
    enum class Target { Version, Create, Mod, Value, Lease };
    enum class Result { Equal, Greater, Less, NotEqual };
    Target target = Target::Create;
    Result result = Result::Equal;
    std::string key;
    std::int64_t number = 0;  // for Version, Create, Mod and Lease
    std::string value;        // for Value
};

struct TxnOp {
    enum class Kind { Put, Range, DeleteRange };
    Kind kind = Kind::Range;
    std::string key;
    std::string value;       // Put only
    std::int64_t lease = 0;  // Put only: 0 = no lease
};

struct Txn {
    std::vector<Compare> compare;
    std::vector<TxnOp> success;
    std::vector<TxnOp> failure;
};

struct TxnOpResult {
    TxnOp::Kind kind = TxnOp::Kind::Range;
    std::vector<KeyValue> kvs;  // Range only
    std::int64_t deleted = 0;   // DeleteRange only
};

struct TxnResult {
    bool succeeded = false;     // omitted by etcd when false
    std::int64_t revision = 0;  // after the txn: a successful write's revision
    std::vector<TxnOpResult> responses;
};

struct LeaseGrant {
    std::int64_t id = 0;
    std::int64_t ttl_seconds = 0;  // what etcd granted, which may differ from what was asked
};

}  // namespace exchanged::ha
