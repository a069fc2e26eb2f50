// The value of the leader key in etcd: which node leads and where clients reach it. JSON, so an
// operator reads it with `etcdctl get`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace exchanged::ha {

struct LeaderRecord {
    std::string node_id;
    std::string address;  // host:port of its client gateway
    bool operator==(const LeaderRecord&) const = default;
};

std::string encode_leader_record(const LeaderRecord& record);
// nullopt for a value this code did not write.
std::optional<LeaderRecord> decode_leader_record(std::string_view value);

}  // namespace exchanged::ha
