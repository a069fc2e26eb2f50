#include "ha/etcd_auth.hpp"

#include <nlohmann/json.hpp>

namespace exchanged::ha {

namespace {

constexpr int kGrpcUnauthenticated = 16;

}  // namespace

std::string authenticate_request(const EtcdCredentials& credentials) {
    return nlohmann::json{{"name", credentials.user}, {"password", credentials.password}}.dump();
}

std::string parse_authenticate(std::string_view body) {
    const nlohmann::json doc = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        throw EtcdJsonError("authenticate: the answer is not a JSON object: " +
                            std::string(body.substr(0, 200)));
    }
    const auto token = doc.find("token");
    if (token == doc.end() || !token->is_string() || token->get_ref<const std::string&>().empty()) {
        // The body is not echoed: a token in a malformed answer is still a credential.
        throw EtcdJsonError("authenticate: the answer holds no token");
    }
    return token->get<std::string>();
}

bool token_rejected(const EtcdServerError& error) {
    return error.grpc_code == kGrpcUnauthenticated ||
           error.message.find("invalid auth token") != std::string::npos ||
           error.message.find("revision of auth store is old") != std::string::npos;
}

bool auth_not_enabled(const EtcdServerError& error) {
    return error.message.find("authentication is not enabled") != std::string::npos;
}

bool user_missing(const EtcdServerError& error) {
    return error.message.find("user name is empty") != std::string::npos;
}

}  // namespace exchanged::ha
