#include "canned_http_server.hpp"

#include <algorithm>
#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <vector>

namespace exchanged::ha::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct CannedHttpServer::State {
    asio::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::vector<std::string> answers;
    std::size_t next_answer = 0;
    std::vector<std::shared_ptr<tcp::socket>> held;  // the never-answered connections
};

std::string CannedHttpServer::ok(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

CannedHttpServer::CannedHttpServer(std::string answer)
    : CannedHttpServer(std::vector<std::string>{std::move(answer)}) {}

std::vector<std::string> CannedHttpServer::heads() const {
    std::lock_guard lock(heads_mutex_);
    return heads_;
}

CannedHttpServer::CannedHttpServer(std::vector<std::string> answers)
    : state_(std::make_unique<State>()) {
    state_->answers = std::move(answers);
    port_ = state_->acceptor.local_endpoint().port();
    thread_ = std::thread([this] {
        State& state = *state_;
        std::function<void()> next;
        next = [&] {
            auto socket = std::make_shared<tcp::socket>(state.io);
            state.acceptor.async_accept(*socket, [&, socket](const boost::system::error_code& ec) {
                if (ec) {
                    return;
                }
                ++requests_;
                auto buffer = std::make_shared<asio::streambuf>();
                asio::async_read_until(
                    *socket, *buffer, "\r\n\r\n",
                    [&, socket, buffer](const boost::system::error_code& ec2, std::size_t n) {
                        if (ec2) {
                            return;
                        }
                        {
                            const std::string head(
                                asio::buffers_begin(buffer->data()),
                                asio::buffers_begin(buffer->data()) + static_cast<long>(n));
                            std::lock_guard lock(heads_mutex_);
                            heads_.push_back(head);
                        }
                        const std::string& answer = state.answers.at(
                            std::min(state.next_answer++, state.answers.size() - 1));
                        if (answer.empty()) {
                            state.held.push_back(socket);
                            return;
                        }
                        asio::async_write(*socket, asio::buffer(answer),
                                          [socket](const boost::system::error_code&, std::size_t) {
                                              boost::system::error_code ignored;
                                              socket->shutdown(tcp::socket::shutdown_both, ignored);
                                          });
                    });
                next();
            });
        };
        next();
        state.io.run();
    });
}

CannedHttpServer::~CannedHttpServer() {
    state_->io.stop();
    thread_.join();
}

}  // namespace exchanged::ha::test
