#include "tools/store/admin_post.hpp"

#include <optional>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace exchanged::tools {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

AdminAnswer admin_request(http::verb verb, const std::string& host, std::uint16_t port,
                          const std::string& path, std::chrono::milliseconds timeout,
                          const std::string& body) {
    const std::string where = host + ":" + std::to_string(port);
    const std::string method(http::to_string(verb));
    asio::io_context io;
    beast::tcp_stream stream(io);
    http::request<http::string_body> request{verb, path, 11};
    request.set(http::field::host, host);
    request.body() = body;
    request.prepare_payload();
    http::response<http::string_body> response;
    beast::flat_buffer buffer;
    std::optional<beast::error_code> outcome;
    std::string step = "connect";
    const auto finish = [&](const beast::error_code& error) { outcome = error; };

    asio::ip::tcp::resolver resolver(io);
    beast::error_code error;
    const auto endpoints = resolver.resolve(host, std::to_string(port), error);
    if (error) {
        throw std::runtime_error("admin endpoint " + where + ": " + error.message());
    }
    stream.expires_after(timeout);
    stream.async_connect(endpoints, [&](const beast::error_code& e, const auto&) {
        if (e) {
            return finish(e);
        }
        step = "send " + method + " " + path;
        http::async_write(stream, request, [&](const beast::error_code& we, std::size_t) {
            if (we) {
                return finish(we);
            }
            step = "wait for the answer to " + method + " " + path;
            http::async_read(stream, buffer, response,
                             [&](const beast::error_code& re, std::size_t) { finish(re); });
        });
    });
    io.run();
    if (!outcome || *outcome) {
        const std::string why =
            outcome && *outcome == beast::error::timeout
                ? "no answer within " + std::to_string(timeout.count() / 1000) + " s"
                : (outcome ? outcome->message() : std::string("no answer"));
        throw std::runtime_error("admin endpoint " + where + ": " + step + ": " + why);
    }
    return AdminAnswer{response.result_int(), response.body()};
}

}  // namespace

AdminAnswer admin_post(const std::string& host, std::uint16_t port, const std::string& path,
                       std::chrono::milliseconds timeout, const std::string& body) {
    return admin_request(http::verb::post, host, port, path, timeout, body);
}

AdminAnswer admin_get(const std::string& host, std::uint16_t port, const std::string& path,
                      std::chrono::milliseconds timeout) {
    return admin_request(http::verb::get, host, port, path, timeout, "");
}

}  // namespace exchanged::tools
