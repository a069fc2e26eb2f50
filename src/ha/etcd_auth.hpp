// etcd's user/password authentication over the JSON gateway: POST /v3/auth/authenticate answers a
// token, which every later request carries in its `Authorization` header. Without TLS the
// password and the token cross the network in the clear (docs/failover.md).
#pragma once

#include <string>
#include <string_view>

#include "ha/etcd_json.hpp"

namespace exchanged::ha {

struct EtcdCredentials {
    std::string user;
    std::string password;
};

std::string authenticate_request(const EtcdCredentials& credentials);

// The token of an authenticate answer; throws EtcdJsonError when the answer holds none.
std::string parse_authenticate(std::string_view body);

// True for the refusals etcd's own client answers by authenticating again: a token etcd does not
// know (expired, issued by another member, lost in a restart or an `auth disable`: code 16,
// "invalid auth token") and a token older than the last change of users or roles.
bool token_rejected(const EtcdServerError& error);

// True when etcd answers an authenticate with "authentication is not enabled": it wants no token
// (switched off, or in the moment of an `auth disable` + `auth enable`).
bool auth_not_enabled(const EtcdServerError& error);

// True when etcd asks for a user and none was sent: its authentication is on.
bool user_missing(const EtcdServerError& error);

}  // namespace exchanged::ha
