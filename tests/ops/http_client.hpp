// A deliberately dumb HTTP/1.1 client for the admin server's tests: a blocking POSIX socket to
// 127.0.0.1, raw bytes out, responses parsed just enough (status, headers, Content-Length body).
// Being raw it can also send what no real client would: garbage, half a request, nothing. Every
// wait is bounded, so no test can hang on a broken server.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace exchanged::test {

struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;

    std::string header(const std::string& lower_case_name) const;
};

class HttpClient {
  public:
    // Connects to 127.0.0.1:`port`. No Catch assertions here, so that threads may use it: a
    // failed connect shows as send() returning false.
    explicit HttpClient(std::uint16_t port);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // False when the server has closed the connection.
    bool send(std::string_view bytes);
    // The next response; nothing when the connection ends or `within` passes first.
    std::optional<HttpResponse> read_response(
        std::chrono::milliseconds within = std::chrono::milliseconds(3000));
    // Reads until the server closes the connection (EOF or reset), or `within` passes. Returns
    // whether it closed, and whatever bytes came before in `received`.
    bool wait_closed(std::chrono::milliseconds within, std::string* received = nullptr);
    void close();

  private:
    // Appends what arrives before `deadline` to pending_: false on EOF, reset or the deadline.
    bool receive_more(std::chrono::steady_clock::time_point deadline);

    int fd_ = -1;
    std::string pending_;
    bool peer_closed_ = false;
};

// "GET `target` HTTP/1.1" on a new connection; the response, if one came. Thread-safe.
std::optional<HttpResponse> http_get(std::uint16_t port, std::string_view target);

}  // namespace exchanged::test
