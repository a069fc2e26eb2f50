#include "ha/leader_record.hpp"

#include <nlohmann/json.hpp>

namespace exchanged::ha {

std::string encode_leader_record(const LeaderRecord& record) {
    return nlohmann::json{{"node_id", record.node_id}, {"address", record.address}}.dump();
}

std::optional<LeaderRecord> decode_leader_record(std::string_view value) {
    const nlohmann::json doc = nlohmann::json::parse(value.begin(), value.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return std::nullopt;
    }
    const auto node = doc.find("node_id");
    const auto address = doc.find("address");
    if (node == doc.end() || address == doc.end() || !node->is_string() || !address->is_string()) {
        return std::nullopt;
    }
    return LeaderRecord{node->get<std::string>(), address->get<std::string>()};
}

}  // namespace exchanged::ha
