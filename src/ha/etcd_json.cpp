#include "ha/etcd_json.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "common/base64.hpp"

namespace exchanged::ha {

namespace {

using nlohmann::json;

std::string int64_text(std::int64_t v) {
    return std::to_string(v);
}

json parse_object(std::string_view body, std::string_view what) {
    json doc = json::parse(body.begin(), body.end(), nullptr, false);
    if (doc.is_discarded()) {
        throw EtcdJsonError(std::string(what) +
                            ": the answer is not JSON: " + std::string(body.substr(0, 200)));
    }
    if (!doc.is_object()) {
        throw EtcdJsonError(std::string(what) + ": the answer is not a JSON object: " +
                            std::string(body.substr(0, 200)));
    }
    return doc;
}

// The member named `name` of `obj`, or nullptr when absent (etcd's zero value).
const json* member(const json& obj, std::string_view name) {
    const auto it = obj.find(name);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
}

const json& object_member(const json& obj, std::string_view name, std::string_view where) {
    static const json empty = json::object();
    const json* m = member(obj, name);
    if (m == nullptr) {
        return empty;
    }
    if (!m->is_object()) {
        throw EtcdJsonError(std::string(where) + "." + std::string(name) + " is not an object");
    }
    return *m;
}

// etcd writes int64s as decimal strings; a JSON number is accepted too.
std::int64_t int64_member(const json& obj, std::string_view name, std::string_view where) {
    const json* m = member(obj, name);
    if (m == nullptr) {
        return 0;
    }
    if (m->is_number_integer()) {
        return m->get<std::int64_t>();
    }
    if (m->is_string()) {
        const std::string& text = m->get_ref<const std::string&>();
        std::int64_t v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) {
            return v;
        }
    }
    throw EtcdJsonError(std::string(where) + "." + std::string(name) +
                        " is not a 64-bit integer: " + m->dump());
}

bool bool_member(const json& obj, std::string_view name, std::string_view where) {
    const json* m = member(obj, name);
    if (m == nullptr) {
        return false;
    }
    if (!m->is_boolean()) {
        throw EtcdJsonError(std::string(where) + "." + std::string(name) +
                            " is not a boolean: " + m->dump());
    }
    return m->get<bool>();
}

std::string bytes_member(const json& obj, std::string_view name, std::string_view where) {
    const json* m = member(obj, name);
    if (m == nullptr) {
        return {};
    }
    if (m->is_string()) {
        if (std::optional<std::string> bytes = base64_decode(m->get_ref<const std::string&>())) {
            return *bytes;
        }
    }
    throw EtcdJsonError(std::string(where) + "." + std::string(name) +
                        " is not base64 text: " + m->dump().substr(0, 200));
}

const json& array_member(const json& obj, std::string_view name, std::string_view where) {
    static const json empty = json::array();
    const json* m = member(obj, name);
    if (m == nullptr) {
        return empty;
    }
    if (!m->is_array()) {
        throw EtcdJsonError(std::string(where) + "." + std::string(name) + " is not an array");
    }
    return *m;
}

std::int64_t header_revision(const json& answer, std::string_view where) {
    return int64_member(object_member(answer, "header", where), "revision",
                        std::string(where) + ".header");
}

std::vector<KeyValue> parse_kvs(const json& obj, std::string_view where) {
    std::vector<KeyValue> out;
    const std::string kvs_where = std::string(where) + ".kvs";
    for (const json& item : array_member(obj, "kvs", where)) {
        if (!item.is_object()) {
            throw EtcdJsonError(kvs_where + " holds a non-object");
        }
        KeyValue kv;
        kv.key = bytes_member(item, "key", kvs_where);
        kv.value = bytes_member(item, "value", kvs_where);
        kv.create_revision = int64_member(item, "create_revision", kvs_where);
        kv.mod_revision = int64_member(item, "mod_revision", kvs_where);
        kv.version = int64_member(item, "version", kvs_where);
        kv.lease = int64_member(item, "lease", kvs_where);
        out.push_back(std::move(kv));
    }
    return out;
}

json op_json(const TxnOp& op) {
    json body = {{"key", base64_encode(op.key)}};
    switch (op.kind) {
        case TxnOp::Kind::Put:
            body["value"] = base64_encode(op.value);
            if (op.lease != 0) {
                body["lease"] = int64_text(op.lease);
            }
            return {{"request_put", body}};
        case TxnOp::Kind::Range:
            return {{"request_range", body}};
        case TxnOp::Kind::DeleteRange:
            return {{"request_delete_range", body}};
    }
    return {};
}

json compare_json(const Compare& c) {
    static constexpr const char* kTargets[] = {"VERSION", "CREATE", "MOD", "VALUE", "LEASE"};
    static constexpr const char* kFields[] = {"version", "create_revision", "mod_revision", "value",
                                              "lease"};
    static constexpr const char* kResults[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};
    const auto t = static_cast<std::size_t>(c.target);
    json out = {{"target", kTargets[t]},
                {"result", kResults[static_cast<std::size_t>(c.result)]},
                {"key", base64_encode(c.key)}};
    if (c.target == Compare::Target::Value) {
        out[kFields[t]] = base64_encode(c.value);
    } else {
        out[kFields[t]] = int64_text(c.number);
    }
    return out;
}

}  // namespace

std::string range_request(std::string_view key) {
    return json{{"key", base64_encode(key)}}.dump();
}

std::string txn_request(const Txn& txn) {
    json compare = json::array();
    for (const Compare& c : txn.compare) {
        compare.push_back(compare_json(c));
    }
    json success = json::array();
    for (const TxnOp& op : txn.success) {
        success.push_back(op_json(op));
    }
    json failure = json::array();
    for (const TxnOp& op : txn.failure) {
        failure.push_back(op_json(op));
    }
    return json{{"compare", compare}, {"success", success}, {"failure", failure}}.dump();
}

std::string delete_range_request(std::string_view key) {
    return json{{"key", base64_encode(key)}}.dump();
}

std::string lease_grant_request(std::int64_t ttl_seconds) {
    return json{{"TTL", int64_text(ttl_seconds)}}.dump();
}

std::string lease_keepalive_request(std::int64_t lease_id) {
    return json{{"ID", int64_text(lease_id)}}.dump();
}

std::string lease_revoke_request(std::int64_t lease_id) {
    return json{{"ID", int64_text(lease_id)}}.dump();
}

std::optional<EtcdServerError> parse_server_error(std::string_view body) {
    const json doc = json::parse(body.begin(), body.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return std::nullopt;
    }
    const json* error = member(doc, "error");
    if (error == nullptr) {
        return std::nullopt;
    }
    EtcdServerError out;
    try {
        if (error->is_object()) {  // a streaming call's error
            out.grpc_code = static_cast<int>(int64_member(*error, "grpc_code", "error"));
            const json* message = member(*error, "message");
            out.message = message != nullptr && message->is_string() ? message->get<std::string>()
                                                                     : error->dump();
        } else {
            out.grpc_code = static_cast<int>(int64_member(doc, "code", "answer"));
            const json* message = member(doc, "message");
            out.message = message != nullptr && message->is_string() ? message->get<std::string>()
                          : error->is_string()                       ? error->get<std::string>()
                                                                     : error->dump();
        }
    } catch (const EtcdJsonError&) {
        out.message = error->dump().substr(0, 200);
    }
    return out;
}

RangeResult parse_range(std::string_view body) {
    const json doc = parse_object(body, "range");
    RangeResult out;
    out.revision = header_revision(doc, "range");
    out.kvs = parse_kvs(doc, "range");
    return out;
}

TxnResult parse_txn(std::string_view body) {
    const json doc = parse_object(body, "txn");
    TxnResult out;
    out.succeeded = bool_member(doc, "succeeded", "txn");
    out.revision = header_revision(doc, "txn");
    for (const json& item : array_member(doc, "responses", "txn")) {
        if (!item.is_object()) {
            throw EtcdJsonError("txn.responses holds a non-object");
        }
        TxnOpResult r;
        if (const json* range = member(item, "response_range")) {
            r.kind = TxnOp::Kind::Range;
            r.kvs = parse_kvs(*range, "txn.responses.response_range");
        } else if (const json* del = member(item, "response_delete_range")) {
            r.kind = TxnOp::Kind::DeleteRange;
            r.deleted = int64_member(*del, "deleted", "txn.responses.response_delete_range");
        } else if (member(item, "response_put") != nullptr) {
            r.kind = TxnOp::Kind::Put;
        } else {
            throw EtcdJsonError("txn.responses holds an unknown response: " +
                                item.dump().substr(0, 200));
        }
        out.responses.push_back(std::move(r));
    }
    return out;
}

std::int64_t parse_delete_range(std::string_view body) {
    const json doc = parse_object(body, "deleterange");
    return int64_member(doc, "deleted", "deleterange");
}

LeaseGrant parse_lease_grant(std::string_view body) {
    const json doc = parse_object(body, "lease grant");
    LeaseGrant out;
    out.id = int64_member(doc, "ID", "lease grant");
    out.ttl_seconds = int64_member(doc, "TTL", "lease grant");
    if (out.id == 0 || out.ttl_seconds <= 0) {
        throw EtcdJsonError("lease grant: the answer holds no lease ID or TTL: " +
                            std::string(body.substr(0, 200)));
    }
    return out;
}

std::int64_t parse_lease_keepalive(std::string_view body) {
    // A streaming call: one JSON message per line, and one renewal asked for, so one read.
    const std::string_view first = body.substr(0, body.find('\n'));
    const json doc = parse_object(first, "lease keepalive");
    const json& result = object_member(doc, "result", "lease keepalive");
    if (result.empty()) {
        throw EtcdJsonError("lease keepalive: the answer holds no result: " +
                            std::string(first.substr(0, 200)));
    }
    const std::int64_t ttl = int64_member(result, "TTL", "lease keepalive.result");
    return ttl < 0 ? 0 : ttl;
}

void parse_lease_revoke(std::string_view body) {
    (void)parse_object(body, "lease revoke");
}

}  // namespace exchanged::ha
