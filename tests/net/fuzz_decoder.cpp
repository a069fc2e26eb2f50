// libFuzzer target for the client protocol decoder: reads the input as a stream of frames, as the
// gateway reads a socket, until the decoder needs more bytes or calls a frame malformed. Crashes
// and sanitizer reports are the findings; the checks below turn a wrong answer into a crash too:
// consistent sizes, every decoded message re-encodes to a frame of the same size that decodes to
// the same message, and every proper prefix of a decoded frame only asks for more bytes.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "net/protocol.hpp"

namespace {

using namespace exchanged::net;

void check(bool holds) {
    if (!holds) {
        std::abort();
    }
}

void decode_stream(std::span<const std::byte> input, std::size_t max_frame_bytes, Sender sender) {
    static std::array<std::byte, kLongestPossibleFrameBytes> reencoded;
    for (;;) {
        const DecodeResult result = decode(input, max_frame_bytes, sender);
        if (result.status == DecodeStatus::NeedMore) {
            check(result.needed > input.size() && result.needed <= kLongestPossibleFrameBytes);
            return;
        }
        if (result.status == DecodeStatus::Malformed) {
            check(result.malformed != MalformedReason::None);
            return;
        }
        check(result.status == DecodeStatus::Decoded);
        check(result.consumed >= kFrameHeaderBytes && result.consumed <= input.size() &&
              result.consumed <= max_frame_bytes);
        check(is_sent_by(type_of(result.message), sender));

        const std::size_t size = encode(result.message, reencoded);
        check(size == result.consumed && size == encoded_size(result.message));
        // Only reserved bytes may differ from the input, never the length or the type.
        check(reencoded[0] == input[0] && reencoded[1] == input[1] && reencoded[2] == input[2]);
        const DecodeResult again =
            decode(std::span(reencoded).first(size), max_frame_bytes, sender);
        check(again.status == DecodeStatus::Decoded && again.consumed == size &&
              again.message == result.message);

        const DecodeResult partial = decode(input.first(size - 1), max_frame_bytes, sender);
        check(partial.status == DecodeStatus::NeedMore && partial.needed == size);

        input = input.subspan(result.consumed);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
    // Both directions, at the daemon's default limit and at the smallest the configuration allows,
    // so that short inputs reach the too-long path as well.
    decode_stream(input, kDefaultMaxFrameBytes, Sender::Client);
    decode_stream(input, kDefaultMaxFrameBytes, Sender::Server);
    decode_stream(input, 64, Sender::Client);
    return 0;
}
