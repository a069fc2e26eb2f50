#include "ha/etcd_http.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace exchanged::ha {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

HttpAnswer etcd_post(const EtcdEndpoint& endpoint, std::string_view target, std::string body,
                     std::chrono::steady_clock::time_point deadline, bool require_leader,
                     std::string_view token) {
    asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    http::request<http::string_body> request{http::verb::post, std::string(target), 11};
    request.set(http::field::host, endpoint.host + ":" + std::to_string(endpoint.port));
    request.set(http::field::content_type, "application/json");
    if (require_leader) {
        request.set("Grpc-Metadata-hasleader", "true");
    }
    if (!token.empty()) {
        request.set(http::field::authorization, beast::string_view(token.data(), token.size()));
    }
    request.body() = std::move(body);
    request.prepare_payload();
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxEtcdAnswerBytes);

    HttpAnswer answer;
    const char* stage = "resolving the host";
    bool finished = false;
    const auto fail = [&](const beast::error_code& ec) {
        finished = true;
        answer.failure =
            std::string(stage) + ": " +
            (ec == beast::error::timeout ? std::string("the deadline passed") : ec.message());
    };
    stream.expires_at(deadline);
    resolver.async_resolve(
        endpoint.host, std::to_string(endpoint.port),
        [&](const beast::error_code& ec, const tcp::resolver::results_type& addresses) {
            if (ec) {
                return fail(ec);
            }
            stage = "connecting";
            stream.async_connect(addresses, [&](const beast::error_code& ec2,
                                                const tcp::endpoint&) {
                if (ec2) {
                    return fail(ec2);
                }
                stage = "sending the request";
                http::async_write(stream, request, [&](const beast::error_code& ec3, std::size_t) {
                    if (ec3) {
                        return fail(ec3);
                    }
                    stage = "reading the answer";
                    http::async_read(stream, buffer, parser,
                                     [&](const beast::error_code& ec4, std::size_t) {
                                         if (ec4) {
                                             return fail(ec4);
                                         }
                                         finished = true;
                                         answer.answered = true;
                                     });
                });
            });
        });
    // The stream's expiry covers connect, write and read; this bound covers the resolver too.
    io.run_until(deadline);
    if (!finished) {
        resolver.cancel();
        beast::error_code ignored;
        stream.socket().close(ignored);
        io.restart();
        io.run();  // the cancelled handlers complete at once
        answer.answered = false;
        answer.failure = std::string(stage) + ": the deadline passed";
    }
    if (answer.answered) {
        answer.status = parser.get().result_int();
        answer.body = std::move(parser.get().body());
    }
    return answer;
}

}  // namespace exchanged::ha
