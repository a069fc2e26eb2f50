// Turns the byte stream of one replication connection (TCP delivers it in arbitrary chunks) into
// frames. The buffer is allocated once at its bound: a header claiming more than max_frame_bytes is
// refused before any payload is read, so a peer (or damage) can never make the decoder allocate or
// wait for what a length field claims.
//
// A refusal is final: the connection is to be closed; every later feed returns the same error.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "repl/frame_format.hpp"

namespace exchanged::repl {

enum class FrameError : std::uint8_t {
    None,
    BadMagic,
    BadVersion,
    BadHeaderChecksum,
    BadKind,
    BadLength,  // payload_bytes over the bound, or wrong for the kind
    BadField,   // first_lsn / record_count not as the kind requires
    BadChecksum,
    BadPayload,  // the payload's contents (a WAL record, a refusal reason) are not valid
};
const char* to_string(FrameError error);

struct FrameDecoderOptions {
    std::size_t max_frame_bytes = kDefaultMaxFrameBytes;
};

class FrameDecoder {
  public:
    // Throws std::invalid_argument when max_frame_bytes is below kMinMaxFrameBytes or above 1 GiB.
    explicit FrameDecoder(FrameDecoderOptions options = {});

    using FrameCallback = std::function<void(const Frame&)>;
    // Takes all of `chunk`; calls on_frame for each frame it completes, in order (on_frame must not
    // feed this decoder again). Returns false (and stops) at the first invalid frame: error() and
    // message() then say what was wrong.
    bool feed(std::span<const std::byte> chunk, const FrameCallback& on_frame);

    FrameError error() const { return error_; }
    // Names the field and the values, e.g. "replication frame: payload_bytes 9000000 exceeds the
    // frame bound 4194304".
    const std::string& message() const { return message_; }
    // Bytes of an incomplete frame held back, waiting for the rest.
    std::size_t buffered() const { return filled_; }

  private:
    bool check_header();
    bool check_payload();
    bool check_hello(std::span<const std::byte> payload);
    bool refuse(FrameError error, std::string message);

    std::size_t max_frame_bytes_;
    // Allocated once at the bound, not zeroed: the pages a connection never fills stay untouched.
    std::unique_ptr<std::byte[]> buffer_;
    std::size_t filled_ = 0;
    std::size_t frame_bytes_ = 0;  // of the frame being read once its header passed, else 0
    FrameHeader header_;
    FrameError error_ = FrameError::None;
    std::string message_;
};

}  // namespace exchanged::repl
