#include "ha/etcd_tls.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <stdexcept>
#include <string>

namespace exchanged::ha {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_etcd_tls_context(const EtcdTlsFiles& files) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
    context->set_verify_mode(ssl::verify_peer);
    const auto use = [](const char* what, const std::filesystem::path& path, auto&& step) {
        boost::system::error_code ec;
        step(ec);
        if (ec) {
            throw std::invalid_argument(std::string(what) + " '" + path.string() +
                                        "' cannot be used: " + ec.message());
        }
    };
    if (files.ca_file.empty()) {
        use("the system's CA store", "", [&](auto& ec) { context->set_default_verify_paths(ec); });
    } else {
        use("etcd_ca_file", files.ca_file,
            [&](auto& ec) { context->load_verify_file(files.ca_file.string(), ec); });
    }
    if (!files.cert_file.empty()) {
        use("etcd_cert_file", files.cert_file,
            [&](auto& ec) { context->use_certificate_chain_file(files.cert_file.string(), ec); });
        // OpenSSL checks here that the key is the certificate's ("key values mismatch").
        use("etcd_key_file", files.key_file, [&](auto& ec) {
            context->use_private_key_file(files.key_file.string(), ssl::context::pem, ec);
        });
    }
    return context;
}

}  // namespace exchanged::ha
