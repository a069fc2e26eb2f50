#include "ha/etcd_http.hpp"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <optional>

#include "common/test_fault.hpp"

namespace exchanged::ha {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// One request's state, shared by the handlers of its chain.
struct Exchange {
    http::request<http::string_body> request;
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    HttpAnswer answer;
    const char* stage = "resolving the host";
    bool finished = false;

    void fail(const beast::error_code& ec) {
        finished = true;
        // A TLS alert, in the handshake or after it (TLS 1.3 reports a refused client certificate
        // on the first read): a setting to fix. A timeout or a reset is not.
        answer.tls_refused = ec.category() == asio::error::get_ssl_category();
        answer.failure =
            std::string(stage) + ": " +
            (ec == beast::error::timeout ? std::string("the deadline passed") : ec.message());
    }
};

// Writes the request and reads the answer over `stream` (plain or TLS).
template <typename Stream>
void send_and_read(Stream& stream, Exchange& x) {
    x.stage = "sending the request";
    http::async_write(stream, x.request, [&stream, &x](const beast::error_code& ec, std::size_t) {
        if (ec) {
            return x.fail(ec);
        }
        x.stage = "reading the answer";
        http::async_read(stream, x.buffer, x.parser,
                         [&x](const beast::error_code& ec2, std::size_t) {
                             if (ec2) {
                                 return x.fail(ec2);
                             }
                             x.finished = true;
                             x.answer.answered = true;
                         });
    });
}

// The member's certificate must chain to the context's CAs and name the endpoint's host (a DNS
// name or an IP address); the name also goes out as SNI unless it is an address.
bool prepare_tls(beast::ssl_stream<beast::tcp_stream>& stream, const std::string& host,
                 Exchange& x) {
    if (test_fault::armed(test_fault::Fault::EtcdTlsNoVerify)) {
        stream.set_verify_mode(ssl::verify_none);
    } else {
        stream.set_verify_mode(ssl::verify_peer);
        stream.set_verify_callback(ssl::host_name_verification(host));
    }
    beast::error_code not_address;
    asio::ip::make_address(host, not_address);
    if (not_address && SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()) != 1) {
        x.stage = "starting TLS";
        x.fail(beast::error_code(static_cast<int>(::ERR_get_error()),
                                 asio::error::get_ssl_category()));
        return false;
    }
    return true;
}

}  // namespace

HttpAnswer etcd_post(const EtcdEndpoint& endpoint, std::string_view target, std::string body,
                     std::chrono::steady_clock::time_point deadline, bool require_leader,
                     std::string_view token, ssl::context* tls) {
    if (endpoint.tls && tls == nullptr) {
        HttpAnswer answer;
        answer.failure = "https:// without a TLS context";
        return answer;
    }
    asio::io_context io;
    tcp::resolver resolver(io);
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
    if (endpoint.tls) {
        secure.emplace(io, *tls);
    } else {
        plain.emplace(io);
    }
    beast::tcp_stream& lowest = secure ? beast::get_lowest_layer(*secure) : *plain;

    Exchange x;
    x.request = {http::verb::post, std::string(target), 11};
    x.request.set(http::field::host, endpoint.host + ":" + std::to_string(endpoint.port));
    x.request.set(http::field::content_type, "application/json");
    if (require_leader) {
        x.request.set("Grpc-Metadata-hasleader", "true");
    }
    if (!token.empty()) {
        x.request.set(http::field::authorization, beast::string_view(token.data(), token.size()));
    }
    x.request.body() = std::move(body);
    x.request.prepare_payload();
    x.parser.body_limit(kMaxEtcdAnswerBytes);

    if (secure && !prepare_tls(*secure, endpoint.host, x)) {
        return x.answer;
    }
    lowest.expires_at(deadline);
    resolver.async_resolve(
        endpoint.host, std::to_string(endpoint.port),
        [&](const beast::error_code& ec, const tcp::resolver::results_type& addresses) {
            if (ec) {
                return x.fail(ec);
            }
            x.stage = "connecting";
            lowest.async_connect(addresses,
                                 [&](const beast::error_code& ec2, const tcp::endpoint&) {
                                     if (ec2) {
                                         return x.fail(ec2);
                                     }
                                     if (!secure) {
                                         return send_and_read(*plain, x);
                                     }
                                     x.stage = "the TLS handshake";
                                     secure->async_handshake(ssl::stream_base::client,
                                                             [&](const beast::error_code& ec3) {
                                                                 if (ec3) {
                                                                     return x.fail(ec3);
                                                                 }
                                                                 send_and_read(*secure, x);
                                                             });
                                 });
        });
    // The stream's expiry covers connect, handshake, write and read; this bound covers the
    // resolver too.
    io.run_until(deadline);
    if (!x.finished) {
        resolver.cancel();
        beast::error_code ignored;
        lowest.socket().close(ignored);
        io.restart();
        io.run();  // the cancelled handlers complete at once
        x.answer.answered = false;
        x.answer.tls_refused = false;
        x.answer.failure = std::string(x.stage) + ": the deadline passed";
    }
    if (x.answer.answered) {
        x.answer.status = x.parser.get().result_int();
        x.answer.body = std::move(x.parser.get().body());
    }
    return std::move(x.answer);
}

}  // namespace exchanged::ha
