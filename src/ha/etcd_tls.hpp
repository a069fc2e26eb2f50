// TLS to etcd's client port (https:// endpoints): the context every connection to a member is
// made from. The member's certificate is verified against a CA bundle (or the system's) and must
// name the host the endpoint names; a client certificate is presented when etcd asks for one
// (`--client-cert-auth`). OpenSSL through Boost.Asio's SSL layer: libpq already links OpenSSL into
// the daemon, so this adds no library to the process.
#pragma once

#include <filesystem>
#include <memory>

namespace boost::asio::ssl {
class context;
}

namespace exchanged::ha {

struct EtcdTlsFiles {
    std::filesystem::path ca_file;    // PEM bundle of the CAs to trust; empty: the system's
    std::filesystem::path cert_file;  // PEM client certificate chain; empty: none
    std::filesystem::path key_file;   // its PEM private key (with cert_file)
};

// TLS 1.2 or later, peer verification on. Throws std::invalid_argument naming the file that
// could not be used and OpenSSL's reason.
std::shared_ptr<boost::asio::ssl::context> make_etcd_tls_context(const EtcdTlsFiles& files);

}  // namespace exchanged::ha
